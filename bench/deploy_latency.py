"""CPU latency of the project's TinyPose on each deploy runtime, and the .nb file sizes.

    .venv/bin/python bench/deploy_latency.py [--iters 50] [--warmup 10] [--rounds 3] [--weights W.pdparams]

For 128x96 and 256x192, batch 1, 2 threads: paddle.inference on the legacy
export with oneDNN, the Lite x86 FP32 .nb (run in the Lite environment), and
onnxruntime on the paddle2onnx file. Each measurement runs in a fresh process:
Paddle's OpenMP threads keep spinning after a run and, on 2 cores, doubled
onnxruntime's time when both shared a process. Runtimes are measured in
interleaved rounds (the machine may be shared) and every time is pooled:
median, p10-p90 spread. The load average is recorded: with 2 cores, any other
busy process makes the 2-thread runtimes (onnxruntime, paddle.inference) wait
for a core, so compare figures only from runs on an idle machine. Also the FP32 vs FP16 ARM .nb sizes. Weights are
synthetic (latency does not depend on their values) unless --weights is given.
Writes bench/out/deploy_latency.json; the last line is key=value figures.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # synthetic_weights: a test fixture the benches share

from synthetic_weights import synthetic_tinypose  # noqa: E402
from tasks.export.inference_model import export_inference_model  # noqa: E402
from tasks.export.lite import convert_lite, run_lite_x86  # noqa: E402
from tasks.export.onnx import export_onnx  # noqa: E402
from tasks.keypoint.model import TinyPose  # noqa: E402
from tasks.runtime.runners import OnnxRunner, PaddleInferenceRunner  # noqa: E402

SIZES = {"128x96": (128, 96), "256x192": (256, 192)}
THREADS = 2
# PaddleDetection's own TinyPose export measured on this kind of machine, for reference only: another run.
PPDET_MS = {"128x96": {"onnxruntime": 4.0, "lite_x86": 12.6, "paddle_onednn": 34.5},
            "256x192": {"onnxruntime": 11.2, "lite_x86": 39.8, "paddle_onednn": 58.2}}


def measure(runtime, path, shape, iters, warmup):
    """Per-run times (ms) and the first output of ``runtime`` on the fixed input, in this process."""
    x = np.random.default_rng(0).uniform(0, 1, shape).astype(np.float32)
    if runtime == "lite_x86":
        outputs, times = run_lite_x86(path, [x], threads=THREADS, repeat=iters, warmup=warmup, return_times=True)
        return times, outputs[0]
    runners = {  # paddle_default: as PaddleDetection's deploy/python tools open an export by default
        "paddle_onednn": lambda: PaddleInferenceRunner(path, threads=THREADS, mkldnn=True),
        "paddle_default": lambda: PaddleInferenceRunner(path, threads=THREADS, mkldnn=False, program="pir"),
        "onnxruntime": lambda: OnnxRunner(path, threads=THREADS)}
    runner = runners[runtime]()
    for _ in range(warmup):
        runner(x)
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        out = runner(x)[0]
        times.append((time.perf_counter() - start) * 1000.0)
    return times, out


def measure_in_child(runtime, path, shape, iters, warmup, out_dir):
    """``measure`` in a fresh Python process (no other runtime's threads around)."""
    result = out_dir / f"{runtime}.npz"
    proc = subprocess.run([sys.executable, __file__, "--measure", runtime, str(path), ",".join(map(str, shape)),
                           str(iters), str(warmup), str(result)], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"measuring {runtime} on {path} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    data = np.load(result)
    return list(data["times"]), data["output"]


def summary(times):
    t = np.asarray(times)
    return {"median_ms": float(np.median(t)), "p10_ms": float(np.percentile(t, 10)),
            "p90_ms": float(np.percentile(t, 90)), "min_ms": float(t.min()), "n": int(t.size)}


def prepare(name, size, out, weights):
    model_dir = out / f"tinypose_{name}"
    h, w = size
    model = TinyPose() if weights else synthetic_tinypose()
    export_inference_model(model, model_dir, [w, h], weights=weights, architecture="TinyPose")
    files = {"onnx": Path(export_onnx(model_dir, model_dir / "model.onnx")["path"]),
             "nb_x86": convert_lite(model_dir, out / f"tinypose_{name}_x86_fp32", target="x86"),
             "nb_arm_fp32": convert_lite(model_dir, out / f"tinypose_{name}_arm_fp32"),
             "nb_arm_fp16": convert_lite(model_dir, out / f"tinypose_{name}_arm_fp16", precision="fp16")}
    return model_dir, files


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--measure"]:  # child mode: RUNTIME PATH SHAPE ITERS WARMUP OUT.npz
        runtime, path, shape, iters, warmup, out = argv[1:]
        times, output = measure(runtime, path, [int(v) for v in shape.split(",")], int(iters), int(warmup))
        np.savez(out, times=np.asarray(times), output=output)
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--weights", type=Path, default=None, help="a TinyPose .pdparams (default: synthetic)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "deploy")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    results, figures = {}, {}
    load_before = os.getloadavg()
    for name, (h, w) in SIZES.items():
        model_dir, files = prepare(name, (h, w), args.out, args.weights)
        paths = {"paddle_onednn": model_dir, "onnxruntime": files["onnx"], "lite_x86": files["nb_x86"]}
        times, outputs = {key: [] for key in paths}, {}
        for _ in range(args.rounds):
            for key, path in paths.items():
                t, outputs[key] = measure_in_child(key, path, (1, 3, h, w), args.iters, args.warmup, args.out)
                times[key] += t
        ref = outputs["paddle_onednn"]
        results[name] = {
            "input_shape": [1, 3, h, w],
            "latency": {key: summary(t) for key, t in times.items()},
            "max_abs_diff_vs_paddle": {key: float(np.abs(o - ref).max()) for key, o in outputs.items()},
            "nb_bytes": {key: files[key].stat().st_size for key in ("nb_x86", "nb_arm_fp32", "nb_arm_fp16")},
            "onnx_bytes": files["onnx"].stat().st_size,
            "ppdet_reference_ms_other_run": PPDET_MS[name],
        }
        for key, s in results[name]["latency"].items():
            figures[f"{key}_{name}_ms"] = round(s["median_ms"], 2)
        figures[f"nb_arm_fp32_{name}_bytes"] = results[name]["nb_bytes"]["nb_arm_fp32"]
        figures[f"nb_arm_fp16_{name}_bytes"] = results[name]["nb_bytes"]["nb_arm_fp16"]

    report = {"loadavg_before": load_before, "loadavg_after": os.getloadavg(), "cpus": os.cpu_count(),
              "threads": THREADS, "batch": 1, "iters": args.iters, "warmup": args.warmup,
              "rounds": args.rounds, "weights": str(args.weights) if args.weights else "synthetic",
              "models": results}
    (args.out / "deploy_latency.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    figures["loadavg_1min_after"] = round(report["loadavg_after"][0], 2)
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()

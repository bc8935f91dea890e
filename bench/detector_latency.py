"""CPU latency of the project's PicoDet-S pedestrian on each deploy runtime, and its parameter count.

    .venv/bin/python bench/detector_latency.py [--iters 50] [--warmup 10] [--rounds 2]

For 192x192 and 320x320, batch 1, 2 threads, side by side in one run: paddle.inference
twice, as PaddleDetection's deploy/python tools run an export by default (PIR program
model.json, oneDNN off: their --enable_mkldnn defaults to False) and at its fastest here
(legacy program, oneDNN on), onnxruntime (paddle2onnx file) and the
Lite x86 FP32 .nb (in the Lite environment), all on the export without NMS (network +
box decoding; the same graph for every runtime), plus the numpy multiclass NMS the
project runs after it, and the Lite .nb with NMS in the graph (what the phone runs).
Each runtime is measured in a fresh process, in interleaved rounds, times pooled
(``bench/deploy_latency.py`` explains why). Weights are synthetic
(``tests/synthetic_weights.py``): latency does not depend on their values. PaddleDetection's
figures (tests/data/reference/latency.json: its dygraph network and its own PIR export
through paddle.inference without oneDNN, which its export cannot run with oneDNN) come
from another run on this kind of machine. The load average is recorded: on 2 shared
cores any other busy process inflates the 2-thread figures.
Writes bench/out/detector/detector_latency.json; the last line is key=value figures.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))  # synthetic_weights: a test fixture the benches share

from deploy_latency import measure_in_child, summary  # noqa: E402
from synthetic_weights import synthetic_model  # noqa: E402
from tasks.detection.nms import multiclass_nms  # noqa: E402
from tasks.export.inference_model import export_inference_model  # noqa: E402
from tasks.export.layout.detector_io import boxes_and_scores  # noqa: E402
from tasks.export.lite import convert_lite, run_lite_x86  # noqa: E402
from tasks.export.onnx import export_onnx  # noqa: E402
from tasks.models import build_model, load_model_config  # noqa: E402

CONFIGS = {"192": "configs/picodet_s_192_pedestrian.yml", "320": "configs/picodet_s_320_pedestrian.yml"}
REFERENCE = REPO / "tests" / "data" / "reference" / "latency.json"
THREADS = 2


def bench_model(config):
    """The synthetic-weight network, its box-regression convs scaled by 1e-3: synthetic weights give
    bin logits of ~5e3, where a 1e-5 relative difference between runtimes moves a box by 0.5 px and
    fails the export's 1e-2 px check; scaled, they are of a trained model's size. Latency does not
    depend on the values."""
    import paddle

    model = synthetic_model(build_model(config), "PicoDet")
    with paddle.no_grad():
        for conv in model.head.head_reg_list:
            conv.weight.set_value(conv.weight * 1e-3)
            conv.bias.set_value(conv.bias * 1e-3)
    return model


def prepare(name, config, out):
    """Synthetic-weight exports (without and with NMS), the ONNX file and the x86 .nb files."""
    model = bench_model(config)
    size = config["model"]["input_size"]
    plain, with_nms = out / f"picodet_{name}_no_nms", out / f"picodet_{name}"
    export_inference_model(model, plain, size, architecture="PicoDet", nms_settings=config["nms"], with_nms=False)
    export_inference_model(model, with_nms, size, architecture="PicoDet", nms_settings=config["nms"])
    return model, {"paddle_default": plain, "paddle_onednn": plain,
                   "onnxruntime": Path(export_onnx(plain, plain / "model.onnx")["path"]),
                   "lite_x86": convert_lite(plain, out / f"picodet_{name}_no_nms_x86", target="x86"),
                   "lite_x86_with_nms": convert_lite(with_nms, out / f"picodet_{name}_x86", target="x86")}


def nms_ms(config, files, shape, repeat=50):
    """Milliseconds of the project's numpy NMS on the decoded outputs of the fixed input."""
    x = np.random.default_rng(0).uniform(0, 1, shape).astype(np.float32)
    boxes, scores = boxes_and_scores(run_lite_x86(files["lite_x86"], [x], threads=THREADS))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        multiclass_nms(boxes[0], scores[0], **config["nms"])
        times.append((time.perf_counter() - start) * 1000.0)
    return summary(times)


def lite_with_nms_ms(files, shape, iters, warmup):
    """The .nb holding NMS (image + scale_factor inputs), run in the Lite environment."""
    x = np.random.default_rng(0).uniform(0, 1, shape).astype(np.float32)
    _, times = run_lite_x86(files["lite_x86_with_nms"], [x, np.ones((1, 2), np.float32)], threads=THREADS,
                            repeat=iters, warmup=warmup, return_times=True)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "detector")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    reference = json.loads(REFERENCE.read_text())["models"]

    load_before = os.getloadavg()
    results, figures = {}, {}
    for name, path in CONFIGS.items():
        config = load_model_config(REPO / path)
        model, files = prepare(name, config, args.out)
        w, h = config["model"]["input_size"]
        shape = (1, 3, h, w)
        runtimes = ("paddle_default", "paddle_onednn", "onnxruntime", "lite_x86")
        times, outputs = {key: [] for key in (*runtimes, "lite_x86_with_nms")}, {}
        for _ in range(args.rounds):
            for key in runtimes:
                t, outputs[key] = measure_in_child(key, files[key], shape, args.iters, args.warmup, args.out)
                times[key] += t
            times["lite_x86_with_nms"] += lite_with_nms_ms(files, shape, args.iters, args.warmup)
        latency = {key: summary(t) for key, t in times.items()}
        ppdet = reference[f"picodet_s_{name}_lcnet_pedestrian"]
        fastest = min(runtimes, key=lambda key: latency[key]["median_ms"])
        speedup = {paddle: latency[paddle]["median_ms"] / latency[fastest]["median_ms"]
                   for paddle in ("paddle_default", "paddle_onednn")}
        results[name] = {
            "input_shape": list(shape),
            "latency": latency,
            "numpy_nms": nms_ms(config, files, shape),
            "max_abs_diff_vs_paddle_scores": {key: float(np.abs(outputs[key] - outputs["paddle_onednn"]).max())
                                              for key in runtimes},
            "fastest": fastest,
            "speedup_vs_paddle": speedup,
            "ppdet_other_run_ms": {"dygraph_raw_forward": ppdet["dygraph_raw_forward"]["median_ms"],
                                   "inference_no_mkldnn": ppdet["inference_no_mkldnn"]["median_ms"]},
        }
        for key, s in latency.items():
            figures[f"{key}_{name}_ms"] = round(s["median_ms"], 2)
        figures[f"numpy_nms_{name}_ms"] = round(results[name]["numpy_nms"]["median_ms"], 3)
        figures[f"speedup_vs_default_{name}"] = round(speedup["paddle_default"], 1)
        figures[f"speedup_vs_onednn_{name}"] = round(speedup["paddle_onednn"], 1)
        figures[f"ppdet_inference_{name}_ms"] = round(ppdet["inference_no_mkldnn"]["median_ms"], 1)
        figures["params_trainable"] = sum(int(np.prod(p.shape)) for p in model.parameters() if not p.stop_gradient)

    report = {"loadavg_before": load_before, "loadavg_after": os.getloadavg(), "cpus": os.cpu_count(),
              "threads": THREADS, "batch": 1, "iters": args.iters, "warmup": args.warmup, "rounds": args.rounds,
              "weights": "synthetic", "models": results}
    (args.out / "detector_latency.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    figures["loadavg_1min_before"] = round(load_before[0], 2)
    figures["loadavg_1min_after"] = round(report["loadavg_after"][0], 2)
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()

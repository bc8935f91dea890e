"""Paddle-Lite conversion and checks, driven from the main environment.

Everything that needs paddlelite runs in the Lite environment (``lite_env``) as
a subprocess: ``paddle_lite_opt`` for conversion, ``lite_probe.py`` to run or
inspect an ``.nb`` file. Arrays cross over as ``.npy`` files.

Facts this relies on (docs/deployment.md): opt reads only the legacy program format; an
ARM ``.nb`` does not run on x86, so correctness is checked on a second, x86
conversion of the same model; FP16 kernels exist for ARM only, so an FP16
``.nb`` is checked by what can be checked here (it loads, its size, its op
list) plus an estimate of the rounding cost made with Paddle itself.
"""
import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from tasks.common.fingerprint import file_record
from tasks.export.compare import FP32_TOL, NMS_STABLE_SCORE, compare_outputs, describe_failure, input_list
from tasks.export.layout.files import PARAMS_FILE, PROGRAM_FILES
from tasks.runtime.lite_env import LiteError, find_lite_python, lite_opt_script

PROBE = Path(__file__).with_name("lite_probe.py")
PRECISIONS = ("fp32", "fp16")
TARGETS = ("arm", "x86")
FP16_MAX_PX = 0.5
# A detector's limits for FP16 weights, over its confident anchors: score change, and box shift
# as a share of the box's longer side (2% of a side moves a box's IoU with itself by about 4%).
FP16_MAX_SCORE = 0.05
FP16_MAX_BOX_SHIFT = 0.02


def _run(cmd, what, timeout, env=None):
    try:
        proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                              env=dict(os.environ, **(env or {})))
    except subprocess.TimeoutExpired as err:
        output = ((err.stdout or b"") + (err.stderr or b"")).decode(errors="replace")[-3000:]
        raise LiteError(f"{what} did not finish within {timeout} s:\n{output}") from None
    if proc.returncode != 0:
        raise LiteError(f"{what} failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")
    return proc


def convert_lite(model_dir, out_prefix, *, precision="fp32", target="arm", lite_python=None, timeout=600):
    """paddle_lite_opt model_dir/model.pdmodel -> ``<out_prefix>.nb`` (naive buffer); returns its path.

    precision "fp16" is valid for target "arm" only (Paddle-Lite has no x86 FP16 kernels).
    """
    if precision not in PRECISIONS or target not in TARGETS:
        raise ValueError(f"precision must be one of {PRECISIONS} and target one of {TARGETS}, "
                         f"got {precision!r}, {target!r}")
    if precision == "fp16" and target != "arm":
        raise ValueError("FP16 .nb files exist for target 'arm' only (Paddle-Lite has FP16 kernels only for ARM)")
    lite_python = find_lite_python(lite_python)
    model_dir = Path(model_dir)
    program, params = model_dir / PROGRAM_FILES["legacy"], model_dir / PARAMS_FILE
    for name in (program.name, params.name):
        if not (model_dir / name).is_file():
            raise LiteError(f"{model_dir / name} missing: paddle_lite_opt needs the legacy export "
                            "(tasks.export.inference_model.export_inference_model)")
    out_prefix = Path(out_prefix)
    if out_prefix.suffix == ".nb":  # opt appends .nb itself
        out_prefix = out_prefix.with_suffix("")
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    cmd = [lite_python, lite_opt_script(lite_python),
           f"--model_file={program}", f"--param_file={params}",
           "--optimize_out_type=naive_buffer", f"--optimize_out={out_prefix}", f"--valid_targets={target}"]
    if precision == "fp16":
        cmd.append("--enable_fp16=true")
    _run(cmd, f"paddle_lite_opt {model_dir} -> {out_prefix}.nb ({precision}, {target})", timeout)
    nb_path = out_prefix.with_name(out_prefix.name + ".nb")
    if not nb_path.is_file() or nb_path.stat().st_size == 0:
        raise LiteError(f"paddle_lite_opt reported success but wrote no {nb_path}")
    return nb_path


def run_lite_x86(nb_path, inputs, *, lite_python=None, threads=2, repeat=1, warmup=0,
                 return_times=False, timeout=600):
    """Run an x86 ``.nb`` in the Lite environment on ``inputs`` (dict name -> array, or a list, in
    the model's input order); returns the outputs as a list of arrays (and the per-run times in ms
    when ``return_times``). ``threads`` sets OMP/MKL threads: Lite's Python MobileConfig has no
    thread setting for x86.
    """
    arrays = input_list(inputs)
    lite_python = find_lite_python(lite_python)
    with tempfile.TemporaryDirectory(prefix="lite-run-") as tmp:
        in_dir, out_dir = Path(tmp, "in"), Path(tmp, "out")
        in_dir.mkdir()
        for i, array in enumerate(arrays):
            np.save(in_dir / f"{i}.npy", np.ascontiguousarray(array, dtype=np.float32))
        threads_env = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        _run([lite_python, PROBE, "run", nb_path, in_dir, out_dir, "--repeat", repeat, "--warmup", warmup],
             f"running {nb_path} in the Lite environment", timeout, env=threads_env)
        timing = json.loads((out_dir / "timing.json").read_text())
        outputs = [np.load(out_dir / f"{i}.npy") for i in range(len(timing["output_names"]))]
    return (outputs, timing["times_ms"]) if return_times else outputs


def inspect_nb(nb_path, *, lite_python=None, timeout=300):
    """What can be learnt about an ``.nb`` without running it (works for ARM and FP16 files).

    Returns {"path", "size", "sha256", "loads", "load_error", "ops" {op type: count},
    "input_names", "output_names"}. ``loads`` is whether Paddle-Lite's MobileConfig
    could create a predictor from it in the Lite environment (a crash counts as False).
    """
    nb_path = Path(nb_path)
    info = {"path": str(nb_path), **file_record(nb_path), "loads": False, "load_error": None,
            "ops": {}, "input_names": [], "output_names": []}
    lite_python = find_lite_python(lite_python)
    with tempfile.TemporaryDirectory(prefix="lite-inspect-") as tmp:
        out_json = Path(tmp, "info.json")
        proc = subprocess.run([str(lite_python), str(PROBE), "inspect", str(nb_path), str(out_json)],
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode == 0 and out_json.is_file():
            info.update(json.loads(out_json.read_text()), loads=True)
        else:
            info["load_error"] = (f"exit {proc.returncode}: " + (proc.stdout + proc.stderr)[-1500:]).strip()
    return info


def verify_nb(nb_path, record=None, *, lite_python=None):
    """Fail (LiteError) when an ``.nb`` is missing, empty, differs from ``record``
    ({"sha256", "size"} written when it was made) or does not load in Paddle-Lite.
    Returns ``inspect_nb``'s dict.
    """
    nb_path = Path(nb_path)
    if not nb_path.is_file() or nb_path.stat().st_size == 0:
        raise LiteError(f"{nb_path} is missing or empty")
    if record is not None:
        actual = file_record(nb_path)
        if actual["size"] != record["size"] or actual["sha256"] != record["sha256"]:
            raise LiteError(f"{nb_path} is corrupted or truncated: size {actual['size']} sha256 "
                            f"{actual['sha256'][:16]}..., recorded size {record['size']} sha256 "
                            f"{record['sha256'][:16]}...; convert it again")
    info = inspect_nb(nb_path, lite_python=lite_python)
    if not info["loads"] or not info["ops"]:
        raise LiteError(f"{nb_path} does not load in Paddle-Lite (corrupted or truncated?): {info['load_error']}")
    return info


def check_lite(model_dir, nb_x86, inputs, *, tol=FP32_TOL, lite_python=None, threads=2, score_floor=None):
    """Compare an x86 ``.nb`` with paddle.inference on the same ``inputs`` (list or dict of arrays).

    Returns ``compare_outputs``' dict; raises LiteError with the figures when an output differs
    by more than ``tol`` (one, or one per output). score_floor: as ``compare_outputs``.
    """
    from tasks.runtime.runners import PaddleInferenceRunner

    arrays = input_list(inputs)
    expected = PaddleInferenceRunner(model_dir, threads=threads)(*arrays)
    actual = run_lite_x86(nb_x86, arrays, lite_python=lite_python, threads=threads)
    result = compare_outputs(expected, actual, tol, score_floor=score_floor)
    if not result["ok"]:
        raise LiteError(f"{nb_x86} does not reproduce paddle.inference on {model_dir}: {describe_failure(result)}")
    return result


def outputs_with_rounded_weights(model, inputs):
    """(outputs as they are, outputs with every float32 weight and buffer rounded to float16 and
    back): two lists of numpy arrays of ``model`` (dygraph, left unchanged) on ``inputs``."""
    import paddle

    arrays = [np.ascontiguousarray(a, dtype=np.float32) for a in input_list(inputs)]
    original = {k: v.clone() for k, v in model.state_dict().items()}
    was_training = model.training
    model.eval()

    def run():
        outputs = model(*(paddle.to_tensor(a) for a in arrays))
        return [o.numpy() for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]

    try:
        with paddle.no_grad():
            ref = run()
            model.set_state_dict({k: v.astype("float16").astype("float32") if v.dtype == paddle.float32 else v
                                  for k, v in original.items()})
            rounded = run()
    finally:
        model.set_state_dict(original)
        model.train(was_training)
    return ref, rounded


def estimate_fp16_cost(model, images, *, codec, max_px=FP16_MAX_PX):
    """Accuracy cost of FP16 weights for a keypoint model, estimated with Paddle on x86 (FP16
    kernels are ARM-only).

    model: a dygraph keypoint model with its weights loaded (left unchanged).
    images: normalized input [N, 3, H, W] float32.
    Decodes both heatmaps (``outputs_with_rounded_weights``) with ``codec`` (the model's, e.g.
    ``DarkHeatmap.for_decoding(input_size, heatmap_size)``) and returns {"max_px", "mean_px", "limit_px", "ok",
    "max_heatmap_diff"} in input pixels; raises LiteError above ``max_px``.
    Activations stay float32 here, so this bounds the weight rounding only.
    """
    images = np.ascontiguousarray(images, dtype=np.float32)
    (ref,), (rounded,) = outputs_with_rounded_weights(model, [images])
    ref_kpts, _ = codec.decode(ref)
    fp16_kpts, _ = codec.decode(rounded)
    dist = np.linalg.norm(ref_kpts.astype(np.float64) - fp16_kpts, axis=-1)
    result = {"max_px": float(dist.max()), "mean_px": float(dist.mean()), "limit_px": max_px,
              "ok": bool(dist.max() <= max_px),
              "max_heatmap_diff": float(np.abs(ref - rounded).max())}
    if not result["ok"]:
        raise LiteError(f"FP16-rounded weights move decoded keypoints by up to {result['max_px']:.3f} px "
                        f"(mean {result['mean_px']:.3f}) > {max_px} px on the fixed inputs")
    return result


def estimate_fp16_detector_cost(model, images, score_floor, *, max_shift=FP16_MAX_BOX_SHIFT,
                                max_score=FP16_MAX_SCORE):
    """Accuracy cost of FP16 weights for a detector, as ``estimate_fp16_cost`` for keypoints.

    model: the dygraph detector without NMS (outputs scores [B, C, N], boxes [B, N, 4] in input
    pixels), weights loaded; images: its input. Over the confident anchors, those whose best
    score reaches ``max(score_floor, NMS_STABLE_SCORE)`` with either weights (a barely trained
    detector's faint anchors regress loosely, and NMS drops them behind confident ones anyway):
    the largest box side shift, in input pixels and as a share of the box's longer side
    (limit ``max_shift``), and the largest score change (limit ``max_score``: a detection near
    the draw threshold may cross it). The shipped ARM file computes in FP16 too, so this bounds
    the weight rounding only. Returns {"max_px", "mean_px", "max_shift", "max_score_diff",
    "anchors", "score_floor", "limit_shift", "limit_score", "ok"}; LiteError above a limit.
    """
    (ref_scores, ref_boxes), (fp16_scores, fp16_boxes) = outputs_with_rounded_weights(model, [images])
    confident = max(float(score_floor), NMS_STABLE_SCORE)
    keep = np.maximum(ref_scores.max(axis=1), fp16_scores.max(axis=1)) >= confident  # [B, N]
    boxes = ref_boxes[keep].astype(np.float64)
    shift = np.abs(boxes - fp16_boxes[keep])
    longer_side = np.maximum(np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]), 1.0)
    score_change = np.abs(ref_scores.astype(np.float64) - fp16_scores).max(axis=1)[keep]
    result = {"max_px": float(shift.max()) if shift.size else 0.0,
              "mean_px": float(shift.mean()) if shift.size else 0.0,
              "max_shift": float((shift.max(axis=1) / longer_side).max()) if shift.size else 0.0,
              "max_score_diff": float(score_change.max()) if score_change.size else 0.0,
              "anchors": int(keep.sum()), "score_floor": confident,
              "limit_shift": max_shift, "limit_score": max_score}
    result["ok"] = bool(result["max_shift"] <= max_shift and result["max_score_diff"] <= max_score)
    if not result["ok"]:
        raise LiteError(f"FP16-rounded weights move the boxes of {result['anchors']} anchors scoring >= {confident} "
                        f"by up to {result['max_shift']:.1%} of their side ({result['max_px']:.2f} px; limit "
                        f"{max_shift:.0%}) and scores by up to {result['max_score_diff']:.4f} (limit {max_score}) "
                        f"on the fixed inputs")
    return result


def build_lite_model(model_dir, out_prefix, precision, inputs, *, fp16_check=None, lite_python=None,
                     threads=2, tol=FP32_TOL, score_floor=None):
    """Convert ``model_dir`` to ``<out_prefix>.nb`` for ARM and prove it; returns the manifest dict.

    Always: an x86 FP32 twin (in a temporary folder) is run on ``inputs`` and
    compared with paddle.inference (``check_lite``; ``score_floor`` as there), and the ARM file is
    inspected (loads, size, sha256, ops). For ``precision="fp16"`` also ``fp16_check(arrays)``,
    the model's estimate of the weight rounding cost (``estimate_fp16_cost`` for a keypoint
    model, ``estimate_fp16_detector_cost`` for a detector, on the dygraph model that takes the
    export's input), required then.
    """
    if precision == "fp16" and fp16_check is None:
        raise ValueError("an FP16 conversion needs fp16_check, the estimate of its rounding cost")
    arrays = input_list(inputs)
    nb_path = convert_lite(model_dir, out_prefix, precision=precision, target="arm", lite_python=lite_python)
    with tempfile.TemporaryDirectory(prefix="lite-x86-") as tmp:
        nb_x86 = convert_lite(model_dir, Path(tmp, "model_x86"), precision="fp32", target="x86",
                              lite_python=lite_python)
        x86_check = check_lite(model_dir, nb_x86, arrays, tol=tol, lite_python=lite_python, threads=threads,
                               score_floor=score_floor)
    info = verify_nb(nb_path, lite_python=lite_python)
    manifest = {"nb": nb_path.name, "precision": precision, "target": "arm", "size": info["size"],
                "sha256": info["sha256"], "ops": info["ops"], "input_names": info["input_names"],
                "output_names": info["output_names"], "input_shapes": [list(a.shape) for a in arrays],
                "x86_fp32_check": x86_check}
    if precision == "fp16":
        manifest["fp16_weight_rounding"] = fp16_check(arrays)
        manifest["fp16_note"] = ("FP16 kernels are ARM-only: this file loads here but cannot run on x86; "
                                 "its accuracy cost is estimated with float16-rounded weights in Paddle")
    return manifest


def main(argv=None):
    """``python -m tasks.export.lite MODEL_DIR``: writes ``MODEL_DIR/model_x86.nb``, the x86
    build the Lite runtime opens on a PC (``tasks.runtime.open``); phones take the ARM files of
    ConvertLiteModel."""
    import argparse

    from tasks.export.layout.files import LITE_X86_FILE

    parser = argparse.ArgumentParser(prog="python -m tasks.export.lite", description=main.__doc__)
    parser.add_argument("model_dir", type=Path, help="an export folder (ExportInferenceModel's)")
    args = parser.parse_args(argv)
    print(convert_lite(args.model_dir, args.model_dir / LITE_X86_FILE, target="x86"))


if __name__ == "__main__":
    main()

"""Export a dygraph model as a Paddle inference model in PaddleDetection's deploy layout.

    out_dir/model.pdmodel     legacy program (Paddle-Lite's opt and oneDNN need it)
    out_dir/model.pdiparams   weights
    out_dir/infer_cfg.yml     what PaddleDetection's deploy/python/keypoint_infer.py reads

The legacy program format is only written when ``FLAGS_enable_pir_api=0`` is in
the environment before paddle is imported (DESIGN.md), so the export itself runs
in a child process: ``python -m tasks.deploy.export JOB.json``.
"""
import importlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

from tasks.common.fingerprint import file_record
from tasks.keypoint.transforms.formatting import IMAGENET_MEAN, IMAGENET_STD

INPUT_NAME = "image"
MODEL_FILES = ("model.pdmodel", "model.pdiparams")
RELOAD_TOL = 1e-4
DEFAULT_WEIGHTS_LOADER = "tasks.common.weights:load_state"  # strict: names, shapes, aliases

# PaddleDetection's export_utils: architecture -> (infer_cfg arch, TensorRT min_subgraph_size, metric)
_ARCHS = {
    "TopDownHRNet": ("HRNet", 3, "KeyPointTopDownCOCOEval"),
    "HRNet": ("HRNet", 3, "KeyPointTopDownCOCOEval"),
}


class ExportError(RuntimeError):
    """The export child process failed; the message carries its output tail."""


def build_infer_cfg(input_size, *, arch="TopDownHRNet", fuse_normalize=False,
                    mean=IMAGENET_MEAN, std=IMAGENET_STD, draw_threshold=0.5):
    """infer_cfg.yml content (dict) for a top-down keypoint model of input (h, w).

    Keys and preprocess steps follow PaddleDetection's ``_dump_infer_config``:
    TopDownEvalAffine takes ``trainsize`` as [w, h]; with ``fuse_normalize`` the
    NormalizeImage step is left out because the network normalizes itself.
    """
    if arch not in _ARCHS:
        raise ValueError(f"arch {arch!r} is not supported for export; known: {sorted(_ARCHS)}")
    cfg_arch, min_subgraph_size, metric = _ARCHS[arch]
    h, w = (int(v) for v in input_size)
    preprocess = [{"type": "TopDownEvalAffine", "trainsize": [w, h]}]
    if not fuse_normalize:
        preprocess.append({"type": "NormalizeImage", "mean": list(mean), "std": list(std),
                           "is_scale": True})
    preprocess.append({"type": "Permute"})
    return {
        "mode": "paddle",
        "draw_threshold": float(draw_threshold),
        "metric": metric,
        "use_dynamic_shape": False,
        "arch": cfg_arch,
        "min_subgraph_size": min_subgraph_size,
        "Preprocess": preprocess,
        "label_list": ["keypoint"],
        "fuse_normalize": bool(fuse_normalize),
    }


def export_inference_model(model_factory, weights, out_dir, input_size, *, fuse_normalize=False,
                           arch="TopDownHRNet", model_kwargs=None, weights_loader=DEFAULT_WEIGHTS_LOADER,
                           mean=IMAGENET_MEAN, std=IMAGENET_STD, timeout=900):
    """Export ``model_factory`` with ``weights`` to ``out_dir``; returns a manifest dict.

    The export is proven before returning: paddle.inference on the written files
    must reproduce the dygraph model on a fixed input to ``RELOAD_TOL``
    (``reload_check`` in the result), else ExportError with the figures.

    model_factory: "package.module:callable" (called with ``model_kwargs``) or a
        picklable ``paddle.nn.Layer`` instance (its current weights are used
        when ``weights`` is None).
    weights: a ``.pdparams`` file (any, PaddleDetection's released ones included)
        or None. Loaded strictly: a missing, unexpected or mis-shaped entry fails.
    weights_loader: "module:callable" ``(model, path)`` that loads them
        (default ``tasks.common.weights:load_state``).
    input_size: (h, w) of the network input, e.g. (128, 96).
    fuse_normalize: the network takes RGB float 0..255 NCHW and applies
        ``(x / 255 - mean) / std`` itself (PaddleDetection's ``fuse_normalize``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in (*MODEL_FILES, "model.pdiparams.info", "infer_cfg.yml"):
        (out_dir / name).unlink(missing_ok=True)  # never mistake an old file for this export's
    h, w = (int(v) for v in input_size)
    infer_cfg = build_infer_cfg((h, w), arch=arch, fuse_normalize=fuse_normalize, mean=mean, std=std)
    with tempfile.TemporaryDirectory(prefix="export-") as tmp:
        job = {
            "out_prefix": str(out_dir / "model"),
            "input_shape": [None, 3, h, w],
            "weights": str(weights) if weights is not None else None,
            "weights_loader": weights_loader,
            "fuse_normalize": bool(fuse_normalize),
            "mean": list(mean), "std": list(std),
            "check_dir": tmp,
        }
        if isinstance(model_factory, str):
            job["factory"], job["model_kwargs"] = model_factory, dict(model_kwargs or {})
        else:
            job["pickled_model"] = str(Path(tmp) / "model.pkl")
            with open(job["pickled_model"], "wb") as f:
                pickle.dump(model_factory, f)
        job_path = Path(tmp) / "job.json"
        job_path.write_text(json.dumps(job))
        _run_child(job_path, timeout)
        missing = [name for name in MODEL_FILES if not (out_dir / name).is_file()]
        if missing:
            raise ExportError(f"export to {out_dir} wrote no {missing}: the legacy format was not produced")
        reload_check = _check_reload(out_dir, Path(tmp))
    with open(out_dir / "infer_cfg.yml", "w") as f:
        yaml.safe_dump(infer_cfg, f, sort_keys=False)
    return {
        "model_dir": str(out_dir),
        "input_name": INPUT_NAME,
        "input_shape": [1, 3, h, w],
        "input_range": "RGB 0..255 (normalized inside)" if fuse_normalize else "normalized RGB",
        "fuse_normalize": bool(fuse_normalize),
        "weights": str(weights) if weights is not None else None,
        "infer_cfg": infer_cfg,
        "reload_check": reload_check,
        "files": {name: file_record(out_dir / name) for name in (*MODEL_FILES, "infer_cfg.yml")},
    }


def _check_reload(model_dir, check_dir, tol=RELOAD_TOL):
    """paddle.inference on the exported files vs the dygraph output the child saved for the same input."""
    from tasks.deploy.runtimes import PaddleInferenceRunner

    x, expected = np.load(check_dir / "input.npy"), np.load(check_dir / "dygraph.npy")
    actual = PaddleInferenceRunner(model_dir, threads=2)(x)[0]
    diff = float(np.abs(actual.astype(np.float64) - expected).max()) if actual.shape == expected.shape else float("inf")
    if not diff <= tol:
        raise ExportError(f"{model_dir}: paddle.inference does not reproduce the dygraph model: max abs diff "
                          f"{diff:.3g} > {tol:g} (shapes {list(actual.shape)} vs {list(expected.shape)})")
    return {"max_abs_diff": diff, "tol": tol, "input_shape": list(x.shape)}


def _run_child(job_path, timeout):
    env = dict(os.environ, FLAGS_enable_pir_api="0")
    # The child sees the same import path as this process (factories defined in tests included).
    repo_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([repo_root, *(p for p in sys.path if p), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-m", "tasks.deploy.export", str(job_path)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-4000:]
        raise ExportError(f"export child process failed (exit {proc.returncode}) for job {job_path}:\n{tail}")


def _import_callable(spec):
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise ValueError(f"expected 'module:callable', got {spec!r}")
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _child_main(job_path):
    import paddle

    from tasks.deploy.normalize import NormalizeInput

    job = json.loads(Path(job_path).read_text())
    if "factory" in job:
        model = _import_callable(job["factory"])(**job["model_kwargs"])
    else:
        with open(job["pickled_model"], "rb") as f:
            model = pickle.load(f)
    if job["weights"]:
        _import_callable(job["weights_loader"])(model, job["weights"])
    if job["fuse_normalize"]:
        model = NormalizeInput(model, job["mean"], job["std"])
    model.eval()
    spec = [paddle.static.InputSpec(shape=job["input_shape"], dtype="float32", name=INPUT_NAME)]
    static_model = paddle.jit.to_static(model, input_spec=spec, full_graph=True)
    paddle.jit.save(static_model, job["out_prefix"])
    # A fixed input and the dygraph output, for the parent's reload check.
    shape = [1, *job["input_shape"][1:]]
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, shape) if job["fuse_normalize"] else rng.standard_normal(shape)
    x = x.astype(np.float32)
    with paddle.no_grad():
        np.save(Path(job["check_dir"]) / "dygraph.npy", model(paddle.to_tensor(x)).numpy())
    np.save(Path(job["check_dir"]) / "input.npy", x)


if __name__ == "__main__":
    if os.environ.get("FLAGS_enable_pir_api") != "0":
        sys.exit("tasks.deploy.export must run with FLAGS_enable_pir_api=0 (use export_inference_model)")
    _child_main(sys.argv[1])

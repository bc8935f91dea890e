"""Export a dygraph model as a Paddle inference model in PaddleDetection's deploy layout.

    out_dir/model.json        PIR program: what paddle.inference.Config(out_dir, "model") opens
                              on Paddle 3 by default (PaddleDetection's deploy/python tools)
    out_dir/model.pdmodel     legacy program: what it opens with FLAGS_enable_pir_api=0, and
                              what paddle_lite_opt and paddle2onnx read
    out_dir/model.pdiparams   the weights, shared by both programs
    out_dir/infer_cfg.yml     preprocessing and metadata for PaddleDetection's deploy code

Which program ``paddle.jit.save`` writes is fixed by ``FLAGS_enable_pir_api`` when paddle
is imported, so each program is written by a child process
(``python -m tasks.deploy.export JOB.json``) with that flag set. Paddle 3.3.1 writes the
same parameter file in both modes; the export checks that it is byte-equal and that each
program reproduces the dygraph model before it returns.
"""
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

from tasks.common.fingerprint import file_record
from tasks.deploy.infer_cfg import build_infer_cfg
from tasks.deploy.runtimes import PARAMS_FILE, PROGRAM_FILES
from tasks.keypoint.transforms.formatting import IMAGENET_MEAN, IMAGENET_STD

INPUT_NAME = "image"
INFER_CFG = "infer_cfg.yml"
RELOAD_TOL = 1e-4
PIR_FLAG = {"pir": "1", "legacy": "0"}  # FLAGS_enable_pir_api of the child that writes each program


class ExportError(RuntimeError):
    """An export child process failed or a written program does not reproduce the model."""


def prepared_model(model, weights=None, *, fuse_normalize=False, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """The network as it is exported, in eval mode.

    model: a ``paddle.nn.Layer`` or a model config dict (built with ``tasks.models.build_model``).
    weights: a ``.pdparams`` loaded strictly (``tasks.common.weights.load_state``: a missing,
        unexpected or mis-shaped name fails), or None to keep the model's current weights.
    fuse_normalize: wrap it in ``NormalizeInput``, so it takes RGB float 0..255.
    """
    import paddle

    from tasks.common.weights import load_state
    from tasks.deploy.normalize import NormalizeInput
    from tasks.models import build_model

    if not isinstance(model, paddle.nn.Layer):
        model = build_model(model)
    if weights is not None:
        load_state(model, str(weights))
    if fuse_normalize:
        model = NormalizeInput(model, mean, std)
    model.eval()
    return model


def export_inference_model(model, out_dir, input_size, *, weights=None, architecture=None,
                           fuse_normalize=False, mean=IMAGENET_MEAN, std=IMAGENET_STD, timeout=900):
    """Export ``model`` to ``out_dir`` (both programs, shared weights, infer_cfg.yml); returns a
    manifest dict ("files", "reload_check" per program, input description, "infer_cfg").

    model: a built ``paddle.nn.Layer`` (pickled into the export processes) or a model config
        dict (each export process builds it with ``tasks.models.build_model``).
    input_size: [w, h] of the network input, e.g. [96, 128].
    weights, fuse_normalize, mean, std: as ``prepared_model``.
    architecture: selects the infer_cfg writer (``tasks.deploy.infer_cfg.WRITERS``); taken
        from the config when ``model`` is one, required for a Layer.

    Each program is reloaded with paddle.inference (oneDNN on, Paddle's CPU default) and must
    reproduce the dygraph model on a fixed input to ``RELOAD_TOL``, else ExportError.
    """
    import paddle

    from tasks.models import architecture as architecture_of

    is_layer = isinstance(model, paddle.nn.Layer)
    if architecture is None:
        if is_layer:
            raise ValueError("export_inference_model: pass architecture=... (e.g. 'TinyPose') for a Layer")
        architecture = architecture_of(model)
    w, h = (int(v) for v in input_size)
    infer_cfg = build_infer_cfg(architecture, [w, h], fuse_normalize=fuse_normalize, mean=mean, std=std)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_files = (*PROGRAM_FILES.values(), PARAMS_FILE)
    for name in (*model_files, "model.pdiparams.info", INFER_CFG):
        (out_dir / name).unlink(missing_ok=True)  # never mistake an old file for this export's
    with tempfile.TemporaryDirectory(prefix="export-") as tmp:
        tmp = Path(tmp)
        job = {"input_shape": [None, 3, h, w], "weights": str(weights) if weights is not None else None,
               "fuse_normalize": bool(fuse_normalize), "mean": list(mean), "std": list(std),
               "check_dir": str(tmp)}
        if is_layer:
            job["pickled_model"] = str(tmp / "model.pkl")
            with open(job["pickled_model"], "wb") as f:
                pickle.dump(model, f)
        else:
            job["config"] = model
        written = {kind: tmp / kind for kind in PROGRAM_FILES}
        for kind, folder in written.items():
            _run_child(tmp, {**job, "program": kind, "out_prefix": str(folder / "model")}, timeout)
        _place_programs(written, out_dir)
        reload_check = {kind: _check_reload(out_dir, kind, tmp) for kind in PROGRAM_FILES}
    with open(out_dir / INFER_CFG, "w") as f:
        yaml.safe_dump(infer_cfg, f, sort_keys=False)
    return {
        "model_dir": str(out_dir),
        "architecture": architecture,
        "input_name": INPUT_NAME,
        "input_shape": [1, 3, h, w],
        "input_range": "RGB 0..255 (normalized inside)" if fuse_normalize else "normalized RGB",
        "fuse_normalize": bool(fuse_normalize),
        "weights": str(weights) if weights is not None else None,
        "infer_cfg": infer_cfg,
        "reload_check": reload_check,
        "files": {name: file_record(out_dir / name) for name in (*model_files, INFER_CFG)},
    }


def _place_programs(written, out_dir):
    """Move each child's program into ``out_dir`` beside one shared parameter file."""
    params = {kind: folder / PARAMS_FILE for kind, folder in written.items()}
    for kind, folder in written.items():
        for path in (folder / PROGRAM_FILES[kind], params[kind]):
            if not path.is_file():
                raise ExportError(f"the {kind} export wrote no {path.name}")
    first, *others = params.values()
    for other in others:
        if other.read_bytes() != first.read_bytes():
            raise ExportError(f"the programs' parameter files differ ({first} vs {other}): they cannot share "
                              f"one {PARAMS_FILE}")
    for kind, folder in written.items():
        shutil.move(folder / PROGRAM_FILES[kind], out_dir / PROGRAM_FILES[kind])
    shutil.move(first, out_dir / PARAMS_FILE)
    info = written["legacy"] / "model.pdiparams.info"
    if info.is_file():  # parameter names, as paddle.jit.save writes them with a legacy program
        shutil.move(info, out_dir / info.name)


def _check_reload(model_dir, program, check_dir, tol=RELOAD_TOL):
    """paddle.inference on one program of the export vs the dygraph output saved for the same input."""
    from tasks.deploy.runtimes import PaddleInferenceRunner

    x, expected = np.load(check_dir / "input.npy"), np.load(check_dir / "dygraph.npy")
    try:
        actual = PaddleInferenceRunner(model_dir, threads=2, program=program)(x)[0]
    except Exception as exc:  # paddle raises its own error types with the op and attribute named
        raise ExportError(f"{model_dir / PROGRAM_FILES[program]}: paddle.inference cannot run it: {exc}") from exc
    diff = float(np.abs(actual.astype(np.float64) - expected).max()) if actual.shape == expected.shape else float("inf")
    if not diff <= tol:
        raise ExportError(f"{model_dir / PROGRAM_FILES[program]}: paddle.inference does not reproduce the dygraph "
                          f"model: max abs diff {diff:.3g} > {tol:g} (shapes {list(actual.shape)} vs "
                          f"{list(expected.shape)})")
    return {"program": PROGRAM_FILES[program], "max_abs_diff": diff, "tol": tol, "input_shape": list(x.shape)}


def _run_child(tmp, job, timeout):
    job_path = tmp / f"job_{job['program']}.json"
    job_path.write_text(json.dumps(job))
    env = dict(os.environ, FLAGS_enable_pir_api=PIR_FLAG[job["program"]])
    # The child sees the same import path as this process (a pickled model's classes included).
    repo_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([repo_root, *(p for p in sys.path if p), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-m", "tasks.deploy.export", str(job_path)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-4000:]
        raise ExportError(f"{job['program']} export process failed (exit {proc.returncode}) for job "
                          f"{job_path}:\n{tail}")


def _child_main(job_path):
    import paddle

    job = json.loads(Path(job_path).read_text())
    if "pickled_model" in job:
        with open(job["pickled_model"], "rb") as f:
            model = pickle.load(f)
    else:
        model = job["config"]
    model = prepared_model(model, job["weights"], fuse_normalize=job["fuse_normalize"],
                           mean=job["mean"], std=job["std"])
    spec = [paddle.static.InputSpec(shape=job["input_shape"], dtype="float32", name=INPUT_NAME)]
    paddle.jit.save(paddle.jit.to_static(model, input_spec=spec, full_graph=True), job["out_prefix"])
    if job["program"] == "legacy":  # one fixed input and the dygraph output, for the parent's checks
        shape = [1, *job["input_shape"][1:]]
        rng = np.random.default_rng(0)
        x = (rng.uniform(0, 255, shape) if job["fuse_normalize"] else rng.standard_normal(shape)).astype(np.float32)
        with paddle.no_grad():
            np.save(Path(job["check_dir"]) / "dygraph.npy", model(paddle.to_tensor(x)).numpy())
        np.save(Path(job["check_dir"]) / "input.npy", x)


if __name__ == "__main__":
    _child_main(sys.argv[1])

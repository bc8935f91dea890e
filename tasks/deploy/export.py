"""Export a dygraph model as a Paddle inference model in PaddleDetection's deploy layout.

    out_dir/model.json        PIR program: what paddle.inference.Config(out_dir, "model") opens
                              on Paddle 3 by default (PaddleDetection's deploy/python tools)
    out_dir/model.pdmodel     legacy program: what it opens with FLAGS_enable_pir_api=0, and
                              what paddle_lite_opt and paddle2onnx read
    out_dir/model.pdiparams   the weights, shared by both programs
    out_dir/infer_cfg.yml     preprocessing and metadata for PaddleDetection's deploy code

A detector (``tasks.models.WITH_NMS``) is exported with multiclass NMS in the graph (inputs
image + scale_factor, outputs bbox + bbox_num) or without it (input image, outputs boxes +
scores, PaddleDetection's order): ``tasks.deploy.detector_graph`` describes both.

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
from tasks.deploy.rendered_persons import rendered_inputs
from tasks.deploy.runtimes import PARAMS_FILE, PROGRAM_FILES
from tasks.transforms import IMAGENET_MEAN, IMAGENET_STD

INPUT_NAME = "image"
SCALE_FACTOR_NAME = "scale_factor"  # a detector with NMS: [B, 2] (y, x) input / original size
INFER_CFG = "infer_cfg.yml"
RELOAD_TOL = 1e-4
PIR_FLAG = {"pir": "1", "legacy": "0"}  # FLAGS_enable_pir_api of the child that writes each program


class ExportError(RuntimeError):
    """An export child process failed or a written program does not reproduce the model."""


def prepared_model(model, weights=None, *, fuse_normalize=False, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                   nms=None, boxes_first=False):
    """The network as it is exported, in eval mode.

    model: a ``paddle.nn.Layer`` or a model config dict (built with ``tasks.models.build_model``).
    weights: a ``.pdparams`` loaded strictly (``tasks.common.weights.load_state``: a missing,
        unexpected or mis-shaped name fails), or None to keep the model's current weights.
    fuse_normalize: wrap it in ``NormalizeInput``, so it takes RGB float 0..255.
    nms: a detector's NMS settings to put in the graph (``DetectorWithNMS``), or None.
    boxes_first: a detector without NMS in the graph, its outputs in PaddleDetection's order
        (boxes, scores: ``DetectorWithoutNMS``).
    """
    import paddle

    from tasks.common.weights import load_state
    from tasks.deploy.detector_graph import DetectorWithNMS, DetectorWithoutNMS
    from tasks.deploy.normalize import NormalizeInput
    from tasks.models import build_model

    if not isinstance(model, paddle.nn.Layer):
        model = build_model(model)
    if weights is not None:
        load_state(model, str(weights))
    if fuse_normalize:
        model = NormalizeInput(model, mean, std)
    if nms is not None:
        model = DetectorWithNMS(model, nms)
    elif boxes_first:
        model = DetectorWithoutNMS(model)
    model.eval()
    return model


def export_inference_model(model, out_dir, input_size, *, weights=None, architecture=None,
                           fuse_normalize=False, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                           nms_settings=None, with_nms=True, check_inputs=None, timeout=900):
    """Export ``model`` to ``out_dir`` (both programs, shared weights, infer_cfg.yml); returns a
    manifest dict ("files", "reload_check" per program, inputs and outputs, "infer_cfg").

    model: a built ``paddle.nn.Layer`` (pickled into the export processes) or a model config
        dict (each export process builds it with ``tasks.models.build_model``).
    input_size: [w, h] of the network input, e.g. [96, 128].
    weights, fuse_normalize, mean, std: as ``prepared_model``.
    architecture: selects the infer_cfg writer (``tasks.deploy.infer_cfg.WRITERS``); taken
        from the config when ``model`` is one, required for a Layer.
    nms_settings, with_nms: a detector (``tasks.models.WITH_NMS``) only. ``nms_settings`` are its
        NMS numbers (a config's ``nms``; taken from the config when ``model`` is one), written to
        infer_cfg.yml and, with ``with_nms``, put in the graph (``tasks.deploy.detector_graph``).
    check_inputs: the arrays (export input order) each program is checked on, e.g. val images
        from ``tasks.deploy.check_inputs.model_inputs``; default the rendered persons of
        ``tasks.deploy.rendered_persons`` (real images, never noise: on noise a trained detector
        scores many boxes alike, and NMS then keeps different ones of those interchangeable
        boxes in each runtime; synthetic PicoDet 320 weights are ill-conditioned there).

    Each program is reloaded with paddle.inference (oneDNN on, Paddle's CPU default) and must
    reproduce the dygraph model on the check inputs to ``RELOAD_TOL``, every output, else ExportError.
    """
    import paddle

    from tasks.deploy.detector_graph import output_tolerances
    from tasks.models import WITH_NMS, build_model
    from tasks.models import architecture as architecture_of

    is_layer = isinstance(model, paddle.nn.Layer)
    if architecture is None:
        if is_layer:
            raise ValueError("export_inference_model: pass architecture=... (e.g. 'TinyPose') for a Layer")
        architecture = architecture_of(model)
    w, h = (int(v) for v in input_size)
    writer_options = {}
    graph_nms = None
    if architecture in WITH_NMS:
        if nms_settings is None and not is_layer:
            nms_settings = model["nms"]
        if nms_settings is None:
            raise ValueError(f"export_inference_model: a {architecture} Layer needs nms_settings=... "
                             "(its config's `nms`)")
        graph_nms = dict(nms_settings) if with_nms else None
        strides = (model if is_layer else build_model(model)).strides
        writer_options = {"nms": dict(nms_settings), "with_nms": bool(with_nms), "fpn_stride": list(strides)}
    elif nms_settings is not None or not with_nms:
        raise ValueError(f"export_inference_model: {architecture} has no NMS to put in or leave out "
                         f"(NMS exports: {list(WITH_NMS)})")
    infer_cfg = build_infer_cfg(architecture, [w, h], fuse_normalize=fuse_normalize, mean=mean, std=std,
                                **writer_options)
    inputs = {INPUT_NAME: [None, 3, h, w]}
    if graph_nms is not None:
        inputs[SCALE_FACTOR_NAME] = [None, 2]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_files = (*PROGRAM_FILES.values(), PARAMS_FILE)
    for name in (*model_files, "model.pdiparams.info", INFER_CFG):
        (out_dir / name).unlink(missing_ok=True)  # never mistake an old file for this export's
    with tempfile.TemporaryDirectory(prefix="export-") as tmp:
        tmp = Path(tmp)
        job = {"inputs": inputs, "weights": str(weights) if weights is not None else None,
               "fuse_normalize": bool(fuse_normalize), "mean": list(mean), "std": list(std),
               "nms": graph_nms, "boxes_first": architecture in WITH_NMS and graph_nms is None,
               "check_dir": str(tmp)}
        if check_inputs is None:
            check_inputs = rendered_inputs(architecture, [w, h], with_nms=graph_nms is not None,
                                           normalize=None if fuse_normalize else {"mean": mean, "std": std})
        if len(check_inputs) != len(inputs):
            raise ValueError(f"export_inference_model: {len(check_inputs)} check input(s) for the "
                             f"export's {len(inputs)} ({', '.join(inputs)})")
        np.savez(tmp / "inputs.npz", *(np.asarray(x, np.float32) for x in check_inputs))
        job["check_inputs"] = str(tmp / "inputs.npz")
        if is_layer:
            job["pickled_model"] = str(tmp / "model.pkl")
            with open(job["pickled_model"], "wb") as f:
                pickle.dump(model, f)
        else:
            job["config"] = model
        written = {kind: tmp / kind for kind in PROGRAM_FILES}
        _run_children(tmp, [{**job, "program": kind, "out_prefix": str(folder / "model")}
                            for kind, folder in written.items()], timeout)
        _place_programs(written, out_dir)
        score_floor = nms_settings["score_threshold"] if nms_settings is not None else None
        tol = output_tolerances(with_nms) if architecture in WITH_NMS else RELOAD_TOL
        reload_check = {kind: _check_reload(out_dir, kind, tmp, score_floor, tol) for kind in PROGRAM_FILES}
    with open(out_dir / INFER_CFG, "w") as f:
        yaml.safe_dump(infer_cfg, f, sort_keys=False)
    return {
        "model_dir": str(out_dir),
        "architecture": architecture,
        "input_name": INPUT_NAME,
        "input_shape": [1, 3, h, w],
        "inputs": list(inputs),
        "outputs": infer_cfg.get("export", {}).get("outputs"),
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


def _check_reload(model_dir, program, check_dir, score_floor=None, tol=RELOAD_TOL):
    """paddle.inference on one program of the export vs the dygraph outputs saved for the same
    inputs (``tasks.deploy.lite.compare_outputs``; ``tol`` and ``score_floor`` as there)."""
    from tasks.deploy.lite import LiteError, compare_outputs, describe_failure
    from tasks.deploy.runtimes import PaddleInferenceRunner

    saved = np.load(check_dir / "check.npz")
    inputs = [saved[name] for name in sorted(k for k in saved.files if k.startswith("input_"))]
    expected = [saved[name] for name in sorted(k for k in saved.files if k.startswith("output_"))]
    path = model_dir / PROGRAM_FILES[program]
    try:
        actual = PaddleInferenceRunner(model_dir, threads=2, program=program)(*inputs)
    except Exception as exc:  # paddle raises its own error types with the op and attribute named
        raise ExportError(f"{path}: paddle.inference cannot run it: {exc}") from exc
    try:
        result = compare_outputs(expected, actual, tol, score_floor=score_floor)
    except LiteError as exc:
        raise ExportError(f"{path}: paddle.inference does not reproduce the dygraph model: {exc}") from exc
    if not result["ok"]:
        raise ExportError(f"{path}: paddle.inference does not reproduce the dygraph model: {describe_failure(result)}")
    return {"program": PROGRAM_FILES[program], "input_shape": list(inputs[0].shape), **result}


def _run_children(tmp, jobs, timeout):
    """One export process per job, all at once (each is mostly single-threaded tracing)."""
    # The children see the same import path as this process (a pickled model's classes included).
    repo_root = str(Path(__file__).resolve().parents[2])
    python_path = os.pathsep.join([repo_root, *(p for p in sys.path if p), os.environ.get("PYTHONPATH", "")])
    running = []
    for job in jobs:
        job_path = tmp / f"job_{job['program']}.json"
        job_path.write_text(json.dumps(job))
        log = open(tmp / f"job_{job['program']}.log", "w+")
        env = dict(os.environ, FLAGS_enable_pir_api=PIR_FLAG[job["program"]], PYTHONPATH=python_path)
        proc = subprocess.Popen([sys.executable, "-m", "tasks.deploy.export", str(job_path)], env=env,
                                stdout=log, stderr=subprocess.STDOUT, text=True)
        running.append((job, job_path, proc, log))
    failures = []
    try:
        for job, job_path, proc, log in running:
            proc.wait(timeout=timeout)
            if proc.returncode != 0:
                log.seek(0)
                failures.append(f"{job['program']} export process failed (exit {proc.returncode}) for job "
                                f"{job_path}:\n{log.read()[-4000:]}")
    finally:
        for _, _, proc, log in running:
            if proc.poll() is None:   # a timeout: leave no export process behind
                proc.kill()
                proc.wait()
            log.close()
    if failures:
        raise ExportError("\n".join(failures))


def _child_main(job_path):
    import paddle

    job = json.loads(Path(job_path).read_text())
    if "pickled_model" in job:
        with open(job["pickled_model"], "rb") as f:
            model = pickle.load(f)
    else:
        model = job["config"]
    model = prepared_model(model, job["weights"], fuse_normalize=job["fuse_normalize"],
                           mean=job["mean"], std=job["std"], nms=job["nms"], boxes_first=job["boxes_first"])
    if job["program"] == "legacy":  # fixed inputs and the dygraph outputs, for the parent's checks
        given = np.load(job["check_inputs"])
        inputs = [given[f"arr_{i}"] for i in range(len(job["inputs"]))]
        # before to_static, which converts the layer in place: a later call would trace it again
        # and return the static program's outputs (slowly), not the dygraph model's
        with paddle.no_grad():
            outputs = model(*(paddle.to_tensor(x) for x in inputs))
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        np.savez(Path(job["check_dir"]) / "check.npz", **{f"input_{i}": x for i, x in enumerate(inputs)},
                 **{f"output_{i}": y.numpy() for i, y in enumerate(outputs)})
    spec = [paddle.static.InputSpec(shape=shape, dtype="float32", name=name) for name, shape in job["inputs"].items()]
    paddle.jit.save(paddle.jit.to_static(model, input_spec=spec, full_graph=True), job["out_prefix"])


if __name__ == "__main__":
    _child_main(sys.argv[1])

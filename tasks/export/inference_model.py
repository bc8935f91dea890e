"""Export a dygraph model as a Paddle inference model in PaddleDetection's deploy layout.

    out_dir/model.json        PIR program: what paddle.inference.Config(out_dir, "model") opens
                              on Paddle 3 by default (PaddleDetection's deploy/python tools)
    out_dir/model.pdmodel     legacy program: what it opens with FLAGS_enable_pir_api=0, and
                              what paddle_lite_opt and paddle2onnx read
    out_dir/model.pdiparams   the weights, shared by both programs
    out_dir/infer_cfg.yml     preprocessing and metadata for PaddleDetection's deploy code

A detector (a kind that carries NMS: ``tasks.models.DETECTOR``) is exported with multiclass NMS in the graph (inputs
image + scale_factor, outputs bbox + bbox_num) or without it (input image, outputs boxes +
scores, PaddleDetection's order): ``tasks.export.detector_graph`` describes both.

Which program ``paddle.jit.save`` writes is fixed by ``FLAGS_enable_pir_api`` when paddle
is imported, so each program is written by a child process
(``python -m tasks.export.inference_model JOB.json``) with that flag set. Paddle 3.3.1 writes the
same parameter file in both modes; the export checks that it is byte-equal and that each
program reproduces the dygraph model before it returns. The legacy program is written without
the Python call stacks Paddle records on its ops (``without_call_stacks``): an export depends on
the network and its weights, not on where the code that traced it lies.
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

from tasks.common.fingerprint import file_record
from tasks.export.compare import FP32_TOL, ComparisonError, compare_outputs, describe_failure
from tasks.export.layout.files import INFER_CFG, PARAMS_FILE, PARAMS_INFO_FILE, PROGRAM_FILES
from tasks.export.layout.infer_cfg import write_infer_cfg
from tasks.transforms import IMAGENET_MEAN, IMAGENET_STD

INPUT_NAME = "image"
PIR_FLAG = {"pir": "1", "legacy": "0"}  # FLAGS_enable_pir_api of the child that writes each program


class ExportError(RuntimeError):
    """An export child process failed or a written program does not reproduce the model."""


def prepared_model(model, weights=None, *, fuse_normalize=False, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                   graph=None):
    """The network as it is exported, in eval mode.

    model: a ``paddle.nn.Layer`` or a model config dict (built with ``tasks.models.build_model``).
    weights: a ``.pdparams`` loaded strictly (``tasks.common.weights.load_state``: a missing,
        unexpected or mis-shaped name fails), or None to keep the model's current weights.
    fuse_normalize: wrap it in ``NormalizeInput``, so it takes RGB float 0..255.
    graph: {"architecture", "nms", "with_nms"}: what its kind adds after the network
        (``ModelKind.export_graph``: a detector's NMS or output order; nothing for a keypoint
        model), or None for the bare network.
    """
    import paddle

    from tasks.common.weights import load_state
    from tasks.export.normalize import NormalizeInput
    from tasks.models import build_model, spec_named

    if not isinstance(model, paddle.nn.Layer):
        model = build_model(model)
    if weights is not None:
        load_state(model, str(weights))
    if fuse_normalize:
        model = NormalizeInput(model, mean, std)
    if graph is not None:
        model = spec_named(graph["architecture"]).kind.export_graph(model, graph["nms"], graph["with_nms"])
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
    architecture: its spec (``tasks.models``) gives the infer_cfg writer, the inputs and what is
        added after the network; taken from the config when ``model`` is one, required for a Layer.
    nms_settings, with_nms: a kind that carries NMS (a detector) only. ``nms_settings`` are its
        NMS numbers (a config's ``nms``; taken from the config when ``model`` is one), written to
        infer_cfg.yml and, with ``with_nms``, put in the graph (``tasks.export.detector_graph``).
    check_inputs: the arrays (export input order) each program is checked on, e.g. val images
        (``ModelKind.val_inputs``); default the rendered persons of
        ``tasks.export.rendered_persons`` (real images, never noise: on noise a trained detector
        scores many boxes alike, and NMS then keeps different ones of those interchangeable
        boxes in each runtime; synthetic PicoDet 320 weights are ill-conditioned there).

    Each program is reloaded with paddle.inference (oneDNN on, Paddle's CPU default) and must
    reproduce the dygraph model on the check inputs to ``FP32_TOL`` (a detector: per output),
    every output, else ExportError.
    """
    plan = _export_plan(model, architecture, input_size, nms_settings, with_nms,
                        fuse_normalize=fuse_normalize, mean=mean, std=std)
    if check_inputs is None:
        normalize = None if fuse_normalize else {"mean": mean, "std": std}
        check_inputs = plan["kind"].rendered_inputs(plan["input_size"], normalize, plan["graph_nms"])
    if len(check_inputs) != len(plan["inputs"]):
        raise ValueError(f"export_inference_model: {len(check_inputs)} check input(s) for the "
                         f"export's {len(plan['inputs'])} ({', '.join(plan['inputs'])})")
    out_dir = Path(out_dir)
    _clear(out_dir)
    with tempfile.TemporaryDirectory(prefix="export-") as tmp:
        tmp = Path(tmp)
        job = _export_job(tmp, model, plan, weights, check_inputs, fuse_normalize=fuse_normalize, mean=mean, std=std)
        written = {kind: tmp / kind for kind in PROGRAM_FILES}
        _run_children(tmp, [{**job, "program": kind, "out_prefix": str(folder / "model")}
                            for kind, folder in written.items()], timeout)
        _place_programs(written, out_dir)
        reload_check = {kind: _check_reload(out_dir, kind, tmp, **plan["comparison"]) for kind in PROGRAM_FILES}
    write_infer_cfg(out_dir, plan["infer_cfg"])
    return _manifest(out_dir, plan, weights, fuse_normalize, reload_check)


def _export_plan(model, architecture, input_size, nms_settings, with_nms, **writer_options) -> dict:
    """What an export writes, from the architecture's spec: {"kind", "architecture", "input_size",
    "inputs" (name -> shape), "graph" (``prepared_model``'s), "graph_nms" (NMS in the graph),
    "infer_cfg", "comparison" (``ModelKind.comparison``)}. ValueError for options the kind has not."""
    import paddle

    from tasks.models import build_model, spec_named, spec_of

    is_layer = isinstance(model, paddle.nn.Layer)
    if architecture is None and is_layer:
        raise ValueError("export_inference_model: pass architecture=... (e.g. 'TinyPose') for a Layer")
    spec = spec_named(architecture) if architecture is not None else spec_of(model)
    kind = spec.kind
    if not kind.carries_nms and (nms_settings is not None or not with_nms):
        raise ValueError(f"export_inference_model: {spec.name} has no NMS to put in or leave out")
    if kind.carries_nms and nms_settings is None:
        if is_layer:
            raise ValueError(f"export_inference_model: a {spec.name} Layer needs nms_settings=... "
                             "(its config's `nms`)")
        nms_settings = model["nms"]
    graph_nms = kind.carries_nms and bool(with_nms)

    def network():   # built only for a kind that asks (a detector's strides)
        return model if is_layer else build_model(model)

    options = kind.infer_cfg_options(None if is_layer else model, network, nms_settings, graph_nms)
    size = [int(v) for v in input_size]
    return {"kind": kind, "architecture": spec.name, "input_size": size,
            "inputs": kind.export_inputs(size, graph_nms), "graph_nms": graph_nms,
            "graph": {"architecture": spec.name, "nms": nms_settings, "with_nms": graph_nms},
            "infer_cfg": kind.infer_cfg(size, architecture=spec.name, **options, **writer_options),
            "comparison": kind.comparison(nms_settings, graph_nms)}


def _clear(out_dir):
    """Remove this export's files from ``out_dir``: never mistake an old file for this export's."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in (*PROGRAM_FILES.values(), PARAMS_FILE, PARAMS_INFO_FILE, INFER_CFG):
        (out_dir / name).unlink(missing_ok=True)


def _export_job(tmp, model, plan, weights, check_inputs, **normalize) -> dict:
    """The JSON job of the export processes; the check inputs and a Layer go beside it in ``tmp``."""
    np.savez(tmp / "inputs.npz", *(np.asarray(x, np.float32) for x in check_inputs))
    job = {"inputs": plan["inputs"], "weights": str(weights) if weights is not None else None,
           "fuse_normalize": bool(normalize["fuse_normalize"]), "mean": list(normalize["mean"]),
           "std": list(normalize["std"]), "graph": plan["graph"], "check_dir": str(tmp),
           "check_inputs": str(tmp / "inputs.npz")}
    if isinstance(model, dict):
        return {**job, "config": model}
    with open(tmp / "model.pkl", "wb") as f:
        pickle.dump(model, f)
    return {**job, "pickled_model": str(tmp / "model.pkl")}


def _manifest(out_dir, plan, weights, fuse_normalize, reload_check) -> dict:
    w, h = plan["input_size"]
    return {
        "model_dir": str(out_dir),
        "architecture": plan["architecture"],
        "input_name": INPUT_NAME,
        "input_shape": [1, 3, h, w],
        "inputs": list(plan["inputs"]),
        "outputs": plan["infer_cfg"].get("export", {}).get("outputs"),
        "input_range": "RGB 0..255 (normalized inside)" if fuse_normalize else "normalized RGB",
        "fuse_normalize": bool(fuse_normalize),
        "weights": str(weights) if weights is not None else None,
        "infer_cfg": plan["infer_cfg"],
        "reload_check": reload_check,
        "files": {name: file_record(out_dir / name)
                  for name in (*PROGRAM_FILES.values(), PARAMS_FILE, INFER_CFG)},
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
    info = written["legacy"] / PARAMS_INFO_FILE
    if info.is_file():  # parameter names, as paddle.jit.save writes them with a legacy program
        shutil.move(info, out_dir / info.name)


def _check_reload(model_dir, program, check_dir, score_floor=None, tol=FP32_TOL):
    """paddle.inference on one program of the export vs the dygraph outputs saved for the same
    inputs (``tasks.export.compare.compare_outputs``; ``tol`` and ``score_floor`` as there)."""
    from tasks.runtime.runners import PaddleInferenceRunner

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
    except ComparisonError as exc:
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
        proc = subprocess.Popen([sys.executable, "-m", "tasks.export.inference_model", str(job_path)], env=env,
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
                           mean=job["mean"], std=job["std"], graph=job["graph"])
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
    if job["program"] == "legacy":
        program = Path(job["out_prefix"]).with_name(PROGRAM_FILES["legacy"])
        program.write_bytes(without_call_stacks(program.read_bytes()))


def without_call_stacks(program: bytes) -> bytes:
    """A serialized legacy program without the Python call stack ``paddle.jit.save`` records on
    every op (``op_callstack``: file paths and line numbers of the code that traced it), so that
    the same network gives the same bytes from any checkout; nothing that runs a program reads it."""
    from paddle.base import core
    from paddle.base.proto import framework_pb2

    name = core.op_proto_and_checker_maker.kOpCreationCallstackAttrName()
    desc = framework_pb2.ProgramDesc.FromString(program)
    for block in desc.blocks:
        for op in block.ops:
            kept = [attr for attr in op.attrs if attr.name != name]
            del op.attrs[:]
            op.attrs.extend(kept)
    return desc.SerializeToString()


if __name__ == "__main__":
    _child_main(sys.argv[1])

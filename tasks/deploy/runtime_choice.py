"""Which runtime runs an export folder: ``open_runner(model_dir, backend)``.

backend "onnxruntime" (an ONNX file: given, ``default_onnx``'s, else converted once with
paddle2onnx into a temporary folder), "paddle" (paddle.inference), "lite" (the legacy
program converted once to an x86 ``.nb`` and served by a persistent Lite worker), or
"auto": onnxruntime, the fastest measured here (bench/RESULTS.md), else paddle.inference
when onnxruntime or paddle2onnx is missing or the conversion fails.
"""
import logging
import tempfile
from pathlib import Path

from tasks.deploy.runtimes import PARAMS_FILE, OnnxRunner, PaddleInferenceRunner

BACKENDS = ("auto", "onnxruntime", "paddle", "lite")
log = logging.getLogger(__name__)


def default_onnx(model_dir):
    """``model_dir/model.onnx``, else the pipeline's ExportOnnx output for ``<root>/export/<name>``
    (``<root>/onnx/<name>.onnx``) when it is newer than the export, else None."""
    model_dir = Path(model_dir)
    if (model_dir / "model.onnx").is_file():
        return model_dir / "model.onnx"
    onnx = model_dir.parent.parent / "onnx" / f"{model_dir.name}.onnx"
    if model_dir.parent.name != "export" or not onnx.is_file():
        return None
    return onnx if onnx.stat().st_mtime >= (model_dir / PARAMS_FILE).stat().st_mtime else None


def _onnx_runner(model_dir, threads, onnx_path, split_batch):
    onnx_path = onnx_path or default_onnx(model_dir)
    if onnx_path is not None:
        return OnnxRunner(onnx_path, threads=threads, split_batch=split_batch)
    from tasks.deploy.onnx import export_onnx

    # onnxruntime holds the model in memory once the session exists: the file can go
    with tempfile.TemporaryDirectory(prefix="onnx-") as tmp:
        return OnnxRunner(export_onnx(model_dir, Path(tmp) / "model.onnx")["path"], threads=threads,
                          split_batch=split_batch)


def _lite_runner(model_dir, threads, lite_python):
    from tasks.deploy.lite import convert_lite
    from tasks.deploy.lite_session import LiteRunner

    with tempfile.TemporaryDirectory(prefix="lite-x86-") as tmp:
        nb_path = convert_lite(model_dir, Path(tmp) / "model", target="x86", lite_python=lite_python)
        return LiteRunner(nb_path, threads=threads, lite_python=lite_python)  # loaded: the file can go


def open_runner(model_dir, backend="auto", threads=2, onnx_path=None, lite_python=None, split_batch=False):
    """A runner (``runner(*arrays) -> [outputs]``, ``.backend``, ``.input_names``) for the
    export in ``model_dir`` (module docstring for ``backend``). ``split_batch``: onnxruntime
    runs a batch as ``threads`` concurrent single-threaded parts (``OnnxRunner``)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "paddle":
        return PaddleInferenceRunner(model_dir, threads=threads)
    if backend == "lite":
        return _lite_runner(model_dir, threads, lite_python)
    try:
        return _onnx_runner(model_dir, threads, onnx_path, split_batch)
    except Exception as exc:  # ImportError, a paddle2onnx failure, an unreadable file
        if backend == "onnxruntime":
            raise
        log.warning("onnxruntime unavailable for %s (%s); using paddle.inference", model_dir, exc)
        return PaddleInferenceRunner(model_dir, threads=threads)

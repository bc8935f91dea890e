"""Which runtime runs an export folder: ``open_runner(model_dir, backend, device=...)``.

backend "onnxruntime" (an ONNX file: given, else ``tasks.export.layout.files.onnx_file``'s),
"paddle" (paddle.inference), "lite" (the folder's x86 ``.nb``, ``LITE_X86_FILE``, served by a
persistent Lite worker), or "auto": onnxruntime, the fastest measured here
(bench/RESULTS.md), else paddle.inference when there is no ONNX file, onnxruntime is missing or
it cannot load the file; the runner then carries ``fallback`` (why), which ``tinypose-infer`` prints.

A runtime opens files, it never converts: an ONNX file comes from ``python -m tasks.export.onnx``
(or the pipeline's ExportOnnx), an x86 ``.nb`` from ``python -m tasks.export.lite``. A folder no
runtime can load is a ``ModelLoadError``: one line naming the folder and each runtime's error.
"""
import logging
from pathlib import Path

from tasks.export.layout.files import LITE_X86_FILE, onnx_file
from tasks.runtime.runners import DEVICES, DeviceError, ModelLoadError, OnnxRunner, PaddleInferenceRunner

BACKENDS = ("auto", "onnxruntime", "paddle", "lite")
log = logging.getLogger(__name__)


def _first_line(exc):
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _onnx_runner(model_dir, threads, onnx_path, split_batch, device):
    onnx_path = onnx_path or onnx_file(model_dir)
    if onnx_path is None:
        raise FileNotFoundError(f"no ONNX file (make {Path(model_dir) / 'model.onnx'} with "
                                f"`python -m tasks.export.onnx {model_dir}`)")
    return OnnxRunner(onnx_path, threads=threads, split_batch=split_batch, device=device)


def _lite_runner(model_dir, threads, lite_python):
    from tasks.runtime.lite_runner import LiteRunner

    nb_path = Path(model_dir) / LITE_X86_FILE
    if not nb_path.is_file():
        raise ModelLoadError(f"{model_dir}: no {LITE_X86_FILE} for the Lite runtime (make it with "
                             f"`python -m tasks.export.lite {model_dir}`)")
    return LiteRunner(nb_path, threads=threads, lite_python=lite_python)


def _paddle_runner(model_dir, threads, device, tried=""):
    try:
        return PaddleInferenceRunner(model_dir, threads=threads, device=device)
    except DeviceError as exc:
        raise DeviceError(f"{model_dir}: {tried}{_first_line(exc)}") from exc
    except Exception as exc:  # paddle raises RuntimeError/ValueError/OSError on a damaged folder
        raise ModelLoadError(f"{model_dir}: cannot load the model: {tried}paddle.inference: "
                             f"{_first_line(exc)}") from exc


def open_runner(model_dir, backend="auto", threads=2, onnx_path=None, lite_python=None, split_batch=False,
                device="cpu"):
    """A runner (``runner(*arrays) -> [outputs]``, ``.backend``, ``.input_names``) for the
    export in ``model_dir`` (module docstring for ``backend``) on ``device`` ("cpu" or "gpu").
    ``split_batch``: onnxruntime runs a batch as ``threads`` concurrent single-threaded parts
    (``OnnxRunner``). ModelLoadError (DeviceError for the device) when nothing can run it."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if backend == "paddle":
        return _paddle_runner(model_dir, threads, device)
    if backend == "lite":
        if device != "cpu":
            raise DeviceError("--runtime lite runs Paddle-Lite's x86 CPU kernels here; --device gpu needs "
                              "--runtime auto, onnx or paddle")
        return _lite_runner(model_dir, threads, lite_python)
    try:
        return _onnx_runner(model_dir, threads, onnx_path, split_batch, device)
    except Exception as exc:  # no file, ImportError, an unreadable file, no CUDA provider
        reason = _first_line(exc)
        if backend == "onnxruntime":
            error = DeviceError if isinstance(exc, DeviceError) else ModelLoadError
            raise error(f"{model_dir}: onnxruntime: {reason}") from exc
    runner = _paddle_runner(model_dir, threads, device, tried=f"onnxruntime: {reason}; ")
    runner.fallback = f"onnxruntime could not run it ({reason}); paddle.inference runs it"
    log.info("%s: %s", model_dir, runner.fallback)   # tinypose-infer prints it as a note
    return runner

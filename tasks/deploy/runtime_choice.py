"""Which runtime runs an export folder: ``open_runner(model_dir, backend, device=...)``.

backend "onnxruntime" (an ONNX file: given, ``default_onnx``'s, else converted once with
paddle2onnx into a temporary folder), "paddle" (paddle.inference), "lite" (the legacy
program converted once to an x86 ``.nb`` and served by a persistent Lite worker), or
"auto": onnxruntime, the fastest measured here (bench/RESULTS.md), else paddle.inference
when onnxruntime or paddle2onnx is missing or the conversion or loading fails; the runner
then carries ``fallback`` (why), which ``tinypose-infer`` prints.

The conversion at start runs in a child process: paddle2onnx ends its process on some bad
inputs (a cut ``model.pdiparams``: exit status 255, no exception), which must not end the
caller before the fallback is tried. A folder no runtime can load is a ``ModelLoadError``:
one line naming the folder and each runtime's error.
"""
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tasks.deploy.runtimes import (DEVICES, PARAMS_FILE, DeviceError, ModelLoadError, OnnxRunner,
                                   PaddleInferenceRunner)

BACKENDS = ("auto", "onnxruntime", "paddle", "lite")
CONVERT_TIMEOUT = 600
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


def _first_line(exc):
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def convert_in_child(model_dir, onnx_path):
    """``tasks.deploy.onnx.export_onnx`` in a child process; RuntimeError with the end of its output."""
    repo_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([repo_root, os.environ.get("PYTHONPATH", "")]))
    code = "import sys; from tasks.deploy.onnx import export_onnx; export_onnx(sys.argv[1], sys.argv[2])"
    done = subprocess.run([sys.executable, "-c", code, str(model_dir), str(onnx_path)], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=CONVERT_TIMEOUT)
    if done.returncode != 0 or not Path(onnx_path).is_file():
        last = [line for line in done.stdout.splitlines() if line.strip()][-1:] or ["no output"]
        raise RuntimeError(f"paddle2onnx failed (exit status {done.returncode}): {last[0].strip()[:300]}")
    return onnx_path


def _onnx_runner(model_dir, threads, onnx_path, split_batch, device):
    onnx_path = onnx_path or default_onnx(model_dir)
    options = {"threads": threads, "split_batch": split_batch, "device": device}
    if onnx_path is not None:
        return OnnxRunner(onnx_path, **options)
    # onnxruntime holds the model in memory once the session exists: the file can go
    with tempfile.TemporaryDirectory(prefix="onnx-") as tmp:
        return OnnxRunner(convert_in_child(model_dir, Path(tmp) / "model.onnx"), **options)


def _lite_runner(model_dir, threads, lite_python):
    from tasks.deploy.lite import convert_lite
    from tasks.deploy.lite_session import LiteRunner

    with tempfile.TemporaryDirectory(prefix="lite-x86-") as tmp:
        nb_path = convert_lite(model_dir, Path(tmp) / "model", target="x86", lite_python=lite_python)
        return LiteRunner(nb_path, threads=threads, lite_python=lite_python)  # loaded: the file can go


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
    except Exception as exc:  # ImportError, a failed conversion, an unreadable file, no CUDA provider
        reason = _first_line(exc)
        if backend == "onnxruntime":
            error = DeviceError if isinstance(exc, DeviceError) else ModelLoadError
            raise error(f"{model_dir}: onnxruntime: {reason}") from exc
    runner = _paddle_runner(model_dir, threads, device, tried=f"onnxruntime: {reason}; ")
    runner.fallback = f"onnxruntime could not run it ({reason}); paddle.inference runs it"
    log.info("%s: %s", model_dir, runner.fallback)   # tinypose-infer prints it as a note
    return runner

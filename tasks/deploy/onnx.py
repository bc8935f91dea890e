"""ONNX export of a Paddle inference model (paddle2onnx) and its check with onnxruntime.

paddle2onnx 2.1.0 reads the legacy ``model.pdmodel`` (it translates it to PIR
itself); it rejects programs that carry float64 array attributes such as
``Upsample(scale_factor=2)``'s scale, which TinyPose avoids (DESIGN.md).
"""
from pathlib import Path

from tasks.common.fingerprint import file_record
from tasks.deploy.lite import FP32_TOL, compare_outputs, input_list

DEFAULT_OPSET = 11


class OnnxError(RuntimeError):
    """ONNX export or check failed; the message carries the file and the figures."""


def export_onnx(model_dir, out_path, opset=DEFAULT_OPSET):
    """model_dir/model.pdmodel + model.pdiparams -> ``out_path`` (.onnx); returns {"path", "opset", sha256, size}."""
    import paddle2onnx

    model_dir, out_path = Path(model_dir), Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        paddle2onnx.export(str(model_dir / "model.pdmodel"), str(model_dir / "model.pdiparams"),
                           save_file=str(out_path), opset_version=int(opset), auto_upgrade_opset=True,
                           enable_onnx_checker=True)
    except Exception as exc:  # paddle2onnx raises bare Exceptions/RuntimeErrors with its own text
        raise OnnxError(f"paddle2onnx could not convert {model_dir / 'model.pdmodel'}: {exc}") from exc
    if not out_path.is_file() or out_path.stat().st_size == 0:
        raise OnnxError(f"paddle2onnx wrote no {out_path}")
    return {"path": str(out_path), "opset": int(opset), **file_record(out_path)}


def check_onnx(onnx_path, model_dir, inputs, *, tol=FP32_TOL, threads=2):
    """Compare onnxruntime on ``onnx_path`` with paddle.inference on ``model_dir`` for the same
    ``inputs`` (list or dict of arrays). Returns {"max_abs_diff", "tol", "ok", "output_shapes"};
    raises OnnxError with the figures above ``tol``.
    """
    from tasks.deploy.runtimes import OnnxRunner, PaddleInferenceRunner

    arrays = input_list(inputs)
    expected = PaddleInferenceRunner(model_dir, threads=threads)(*arrays)
    actual = OnnxRunner(onnx_path, threads=threads)(*arrays)
    result = compare_outputs(expected, actual, tol)
    if not result["ok"]:
        raise OnnxError(f"{onnx_path} does not reproduce paddle.inference on {model_dir}: max abs diff "
                        f"{result['max_abs_diff']:.3g} > {tol:g}")
    return result

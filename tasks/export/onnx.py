"""ONNX export of a Paddle inference model (paddle2onnx) and its check with onnxruntime.

paddle2onnx 2.1.0 reads either program of an export (it translates a legacy
``model.pdmodel`` to PIR itself). Its constant folding is switched off
(``optimize_tool="None"``): the default folds with Polygraphy, which sets
``POLYGRAPHY_AUTOINSTALL_DEPS=1`` and pip-installs onnx_graphsurgeon at run time,
and onnxruntime folds the same constants when it loads the model, so the folded
and unfolded files run equally fast (measured: README, "Export").
"""
from pathlib import Path

from tasks.common.fingerprint import file_record
from tasks.export.compare import FP32_TOL, compare_outputs, describe_failure, input_list
from tasks.export.layout.files import ONNX_FILE, PARAMS_FILE, program_file

DEFAULT_OPSET = 11


class OnnxError(RuntimeError):
    """ONNX export or check failed; the message carries the file and the figures."""


def export_onnx(model_dir, out_path, opset=DEFAULT_OPSET):
    """An export folder (either program + model.pdiparams) -> ``out_path`` (.onnx); returns
    {"path", "opset", "program", sha256, size}."""
    import paddle2onnx

    model_dir, out_path = Path(model_dir), Path(out_path)
    program = program_file(model_dir)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.unlink(missing_ok=True)  # paddle2onnx logs some failures and returns: judge by the file
    try:
        paddle2onnx.export(str(program), str(model_dir / PARAMS_FILE), save_file=str(out_path),
                           opset_version=int(opset), auto_upgrade_opset=True, enable_onnx_checker=True,
                           optimize_tool="None")
    except Exception as exc:  # paddle2onnx raises bare Exceptions/RuntimeErrors with its own text
        raise OnnxError(f"paddle2onnx could not convert {program}: {exc}") from exc
    if not out_path.is_file() or out_path.stat().st_size == 0:
        raise OnnxError(f"paddle2onnx wrote no {out_path} from {program} (its log above says why)")
    return {"path": str(out_path), "opset": int(opset), "program": program.name, **file_record(out_path)}


def check_onnx(onnx_path, model_dir, inputs, *, tol=FP32_TOL, threads=2, score_floor=None):
    """Compare onnxruntime on ``onnx_path`` with paddle.inference on ``model_dir`` for the same
    ``inputs`` (list or dict of arrays, in the Paddle program's input order; fed to onnxruntime
    by name, whose order may differ). Returns ``compare_outputs``' dict; raises OnnxError with
    the figures above ``tol`` (one, or one per output). score_floor: as
    ``tasks.export.compare.compare_outputs`` (a detector exported without NMS).
    """
    from tasks.runtime.runners import OnnxRunner, PaddleInferenceRunner

    arrays = input_list(inputs)
    paddle_runner = PaddleInferenceRunner(model_dir, threads=threads)
    expected = paddle_runner(*arrays)
    onnx_runner = OnnxRunner(onnx_path, threads=threads)
    feed = dict(zip(paddle_runner.input_names, arrays))
    if sorted(feed) != sorted(onnx_runner.input_names):
        raise OnnxError(f"{onnx_path} takes inputs {onnx_runner.input_names}, {model_dir} takes "
                        f"{paddle_runner.input_names}")
    actual = onnx_runner(*(feed[name] for name in onnx_runner.input_names))
    result = compare_outputs(expected, actual, tol, score_floor=score_floor)
    if not result["ok"]:
        raise OnnxError(f"{onnx_path} does not reproduce paddle.inference on {model_dir}: {describe_failure(result)}")
    return result


def main(argv=None):
    """``python -m tasks.export.onnx MODEL_DIR``: writes ``MODEL_DIR/model.onnx``, the file the
    runtimes prefer (``tasks.runtime.open``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tasks.export.onnx", description=main.__doc__)
    parser.add_argument("model_dir", type=Path, help="an export folder (ExportInferenceModel's)")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    args = parser.parse_args(argv)
    print(export_onnx(args.model_dir, args.model_dir / ONNX_FILE, args.opset)["path"])


if __name__ == "__main__":
    main()

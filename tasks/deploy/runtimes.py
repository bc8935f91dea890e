"""CPU runtimes behind one call signature: ``runner(*arrays) -> [outputs]`` (numpy in, numpy out).

- ``PaddleInferenceRunner``: paddle.inference on an export folder holding ``model.pdmodel``
  (legacy program), ``model.json`` (PIR program, Paddle 3's default) or both, with
  ``model.pdiparams``; oneDNN on, as Paddle sets it by default on CPU.
- ``OnnxRunner``: onnxruntime on a model.onnx from ``tasks.deploy.onnx.export_onnx``.
The Lite runtime runs in its own environment: ``tasks.deploy.lite.run_lite_x86``.
"""
from pathlib import Path

import numpy as np

PARAMS_FILE = "model.pdiparams"
# What paddle.inference.Config(model_dir, "model") opens: model.json with the PIR API on
# (the default), model.pdmodel with FLAGS_enable_pir_api=0. Both read model.pdiparams.
PROGRAM_FILES = {"legacy": "model.pdmodel", "pir": "model.json"}


def program_file(model_dir, program="auto"):
    """The program file of an export folder: ``program`` "legacy", "pir", or "auto" (the legacy
    one when present: oneDNN runs every legacy program, while a PIR program with interpolation
    ops from other exporters needs oneDNN off). FileNotFoundError names what is missing."""
    model_dir = Path(model_dir)
    kinds = ("legacy", "pir") if program == "auto" else (program,)
    if any(kind not in PROGRAM_FILES for kind in kinds):
        raise ValueError(f"program must be 'auto' or one of {sorted(PROGRAM_FILES)}, got {program!r}")
    if not (model_dir / PARAMS_FILE).is_file():
        raise FileNotFoundError(f"{model_dir}: no {PARAMS_FILE}; not a Paddle inference export")
    for kind in kinds:
        if (model_dir / PROGRAM_FILES[kind]).is_file():
            return model_dir / PROGRAM_FILES[kind]
    raise FileNotFoundError(f"{model_dir}: no " + " or ".join(PROGRAM_FILES[k] for k in kinds)
                            + "; not a Paddle inference export")


class PaddleInferenceRunner:
    """paddle.inference predictor for an export folder (see ``program_file`` for ``program``)."""

    backend = "paddle"

    def __init__(self, model_dir, threads=2, mkldnn=True, program="auto"):
        from paddle import inference

        model_dir = Path(model_dir)
        self.program_file = program_file(model_dir, program)
        config = inference.Config(str(self.program_file), str(model_dir / PARAMS_FILE))
        config.disable_gpu()
        config.set_cpu_math_library_num_threads(int(threads))
        if mkldnn:
            config.enable_mkldnn()
        else:
            config.disable_mkldnn()
        config.disable_glog_info()
        self._predictor = inference.create_predictor(config)
        self.input_names = list(self._predictor.get_input_names())
        self.output_names = list(self._predictor.get_output_names())

    def __call__(self, *arrays):
        if len(arrays) != len(self.input_names):
            raise ValueError(f"model takes inputs {self.input_names}, got {len(arrays)} arrays")
        for name, array in zip(self.input_names, arrays):
            self._predictor.get_input_handle(name).copy_from_cpu(np.ascontiguousarray(array, dtype=np.float32))
        self._predictor.run()
        return [self._predictor.get_output_handle(name).copy_to_cpu() for name in self.output_names]


class OnnxRunner:
    """onnxruntime CPU session for an ONNX file."""

    backend = "onnxruntime"

    def __init__(self, onnx_path, threads=2):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3   # errors only: paddle2onnx's graphs leave unused initializers it warns of
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self._session.get_inputs()]
        self.output_names = [o.name for o in self._session.get_outputs()]

    def __call__(self, *arrays):
        if len(arrays) != len(self.input_names):
            raise ValueError(f"model takes inputs {self.input_names}, got {len(arrays)} arrays")
        feed = {name: np.ascontiguousarray(a, dtype=np.float32) for name, a in zip(self.input_names, arrays)}
        return self._session.run(self.output_names, feed)

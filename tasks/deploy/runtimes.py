"""CPU runtimes behind one call signature: ``runner(*arrays) -> [outputs]`` (numpy in, numpy out).

- ``PaddleInferenceRunner``: paddle.inference on the legacy model.pdmodel (oneDNN on by default;
  oneDNN fails on the PIR format but works on the legacy one, DESIGN.md).
- ``OnnxRunner``: onnxruntime on a model.onnx from ``tasks.deploy.onnx.export_onnx``.
The Lite runtime runs in its own environment: ``tasks.deploy.lite.run_lite_x86``.
"""
from pathlib import Path

import numpy as np


class PaddleInferenceRunner:
    """paddle.inference predictor for ``model_dir/model.pdmodel`` + ``model.pdiparams``."""

    backend = "paddle"

    def __init__(self, model_dir, threads=2, mkldnn=True):
        from paddle import inference

        model_dir = Path(model_dir)
        config = inference.Config(str(model_dir / "model.pdmodel"), str(model_dir / "model.pdiparams"))
        config.disable_gpu()
        config.set_cpu_math_library_num_threads(int(threads))
        if mkldnn:
            config.enable_mkldnn()
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
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self._session.get_inputs()]
        self.output_names = [o.name for o in self._session.get_outputs()]

    def __call__(self, *arrays):
        if len(arrays) != len(self.input_names):
            raise ValueError(f"model takes inputs {self.input_names}, got {len(arrays)} arrays")
        feed = {name: np.ascontiguousarray(a, dtype=np.float32) for name, a in zip(self.input_names, arrays)}
        return self._session.run(self.output_names, feed)

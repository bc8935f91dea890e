"""Runtimes behind one call signature: ``runner(*arrays) -> [outputs]`` (numpy in, numpy out).

- ``PaddleInferenceRunner``: paddle.inference on an export folder holding ``model.pdmodel``
  (legacy program), ``model.json`` (PIR program, Paddle 3's default) or both, with
  ``model.pdiparams``; on CPU oneDNN on, as Paddle sets it by default.
- ``OnnxRunner``: onnxruntime on a model.onnx from ``tasks.export.onnx.export_onnx``.
The Lite runtime runs in its own environment: ``tasks.export.lite.run_lite_x86``.

``device`` "gpu" asks paddle.inference for GPU 0 and onnxruntime for its CUDA provider; where the
installed package has none (paddlepaddle without CUDA, onnxruntime without
CUDAExecutionProvider: the CPU wheels this project pins), ``DeviceError`` says so in one line.
"""
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from tasks.export.layout.files import PARAMS_FILE, program_file

DEVICES = ("cpu", "gpu")
CUDA_PROVIDER = "CUDAExecutionProvider"


class ModelLoadError(RuntimeError):
    """No runtime tried could load an export folder; one line naming the folder and each error."""


class DeviceError(ModelLoadError):
    """The device asked for has no runtime here."""


def _paddle_gpu():
    import paddle

    if not paddle.device.is_compiled_with_cuda() or paddle.device.cuda.device_count() == 0:
        raise DeviceError(f"--device gpu: paddlepaddle {paddle.__version__} is built without CUDA or sees no GPU "
                          "(install paddlepaddle-gpu), or use --device cpu")


def onnx_providers(device="cpu"):
    """onnxruntime's execution providers for ``device``; DeviceError when it has no CUDA provider."""
    if device == "cpu":
        return ["CPUExecutionProvider"]
    import onnxruntime as ort

    available = ort.get_available_providers()
    if CUDA_PROVIDER not in available:
        raise DeviceError(f"--device gpu: onnxruntime {ort.__version__} has no {CUDA_PROVIDER} (it has "
                          f"{', '.join(available)}; install onnxruntime-gpu), or use --device cpu")
    return [CUDA_PROVIDER, "CPUExecutionProvider"]


class PaddleInferenceRunner:
    """paddle.inference predictor for an export folder (see ``program_file`` for ``program``) on
    ``device`` "cpu" (oneDNN unless ``mkldnn`` is false) or "gpu" (GPU 0; DeviceError without one)."""

    backend = "paddle"

    def __init__(self, model_dir, threads=2, mkldnn=True, program="auto", device="cpu"):
        from paddle import inference

        model_dir = Path(model_dir)
        self.program_file = program_file(model_dir, program)
        config = inference.Config(str(self.program_file), str(model_dir / PARAMS_FILE))
        if device == "gpu":
            _paddle_gpu()
            config.enable_use_gpu(256, 0)
        else:
            config.disable_gpu()
            config.set_cpu_math_library_num_threads(int(threads))
        if mkldnn and device == "cpu":
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
    """onnxruntime session for an ONNX file, on ``device`` "cpu" or "gpu" (``onnx_providers``).

    split_batch: instead of one session running each op on ``threads`` threads, ``threads``
    single-threaded sessions, each running its share of the batch at the same time
    (onnxruntime releases the GIL). For a small network on a batch of crops this is the faster
    use of the cores: TinyPose 128x96 is hundreds of small ops, where intra-op threads
    synchronise more than they compute (six crops on 2 cores: 15 ms split, 32 ms intra-op;
    bench/RESULTS.md). A batch of one then runs on one thread.
    """

    backend = "onnxruntime"

    def __init__(self, onnx_path, threads=2, split_batch=False, device="cpu"):
        threads = max(int(threads), 1)
        providers = onnx_providers(device)
        if split_batch and device == "cpu":
            self._sessions = [_onnx_session(onnx_path, 1, providers) for _ in range(threads)]
            self._pool = ThreadPoolExecutor(threads, thread_name_prefix="onnx") if threads > 1 else None
        else:
            self._sessions, self._pool = [_onnx_session(onnx_path, threads, providers)], None
        self.input_names = [i.name for i in self._sessions[0].get_inputs()]
        self.output_names = [o.name for o in self._sessions[0].get_outputs()]

    def __call__(self, *arrays):
        if len(arrays) != len(self.input_names):
            raise ValueError(f"model takes inputs {self.input_names}, got {len(arrays)} arrays")
        arrays = [np.ascontiguousarray(a, dtype=np.float32) for a in arrays]
        parts = min(len(self._sessions), len(arrays[0])) if self._pool is not None else 1
        if parts <= 1:
            return self._run(self._sessions[0], arrays)
        chunks = zip(*(np.array_split(a, parts) for a in arrays))
        results = list(self._pool.map(self._run, self._sessions[:parts], chunks))
        return [np.concatenate(outputs) for outputs in zip(*results)]

    def _run(self, session, arrays):
        return session.run(self.output_names, dict(zip(self.input_names, arrays)))


def _onnx_session(onnx_path, threads, providers=("CPUExecutionProvider",)):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3   # errors only: paddle2onnx's graphs leave unused initializers it warns of
    # Loop chunks are handed out as threads come free (dynamic block base): on shared cores a
    # statically split loop waits for its slowest part. Threads spin while a run lasts (a
    # sleeping thread wakes late for each of hundreds of small ops) and stop when it ends: a
    # frame runs two models in turn, and one's spinning threads would take the cores from the
    # other. PicoDet-S 192 on 2 threads, one measurement: 6.6 ms with static chunks and threads
    # asleep between ops, 4.8 ms with dynamic chunks, 4.1 ms when they also spin.
    options.add_session_config_entry("session.intra_op.allow_spinning", "1")
    options.add_session_config_entry("session.force_spinning_stop", "1")
    options.add_session_config_entry("session.dynamic_block_base", "4")
    return ort.InferenceSession(str(onnx_path), options, providers=list(providers))

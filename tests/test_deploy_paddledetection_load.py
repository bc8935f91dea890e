"""The export loads as PaddleDetection's deploy/python tools load a model on Paddle 3
(keypoint_infer.py, det_keypoint_unite_infer.py: ``Config(model_dir, "model")``), in a fresh
process with Paddle's default flags (PIR: model.json; oneDNN on, as Paddle sets it on CPU)
and with FLAGS_enable_pir_api=0 (model.pdmodel), and reproduces the dygraph heatmaps.

Their set-up also calls ``config.enable_memory_optim()``. Paddle 3.3.1's CPU predictor
rejects that for every PIR program, ours or not (even a two-op program without parameters:
"Not find predictor_id 0 and pass_name memory_optimize_pass"), so the PIR case leaves that
one call out; the legacy case runs the whole set-up."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from deploy_helpers import dygraph, fixed_inputs, seeded_tinypose

# The predictor set-up of PaddleDetection's load_predictor on CPU without --enable_mkldnn:
# it neither enables nor disables oneDNN.
LOAD_AS_PADDLEDETECTION = textwrap.dedent("""
    import sys
    import numpy as np
    import paddle
    from paddle.inference import Config, create_predictor

    model_dir, inputs, result, memory_optim = sys.argv[1:5]
    paddle.enable_static()
    config = Config(model_dir, "model")
    config.disable_gpu()
    config.set_cpu_math_library_num_threads(1)
    config.disable_glog_info()
    if memory_optim == "1":
        config.enable_memory_optim()
    config.switch_use_feed_fetch_ops(False)
    predictor = create_predictor(config)
    handle = predictor.get_input_handle(predictor.get_input_names()[0])
    handle.copy_from_cpu(np.load(inputs))
    predictor.run()
    heatmaps = predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()
    np.savez(result, heatmaps=heatmaps, mkldnn=config.mkldnn_enabled(), program=config.prog_file())
""")


@pytest.mark.slow
@pytest.mark.parametrize("pir_flag, program, memory_optim", [(None, "model.json", "0"),
                                                             ("0", "model.pdmodel", "1")])
def test_paddledetection_style_load_reproduces_dygraph(tinypose_export, tmp_path, pir_flag, program, memory_optim):
    x = fixed_inputs(n=1)
    np.save(tmp_path / "x.npy", x)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLAGS_")}
    if pir_flag is not None:
        env["FLAGS_enable_pir_api"] = pir_flag
    proc = subprocess.run([sys.executable, "-c", LOAD_AS_PADDLEDETECTION, str(tinypose_export),
                           str(tmp_path / "x.npy"), str(tmp_path / "out.npz"), memory_optim],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    result = np.load(tmp_path / "out.npz")
    assert bool(result["mkldnn"]) is True  # Paddle's CPU default, which the PIR program must survive
    assert str(result["program"]).endswith(program)
    np.testing.assert_allclose(result["heatmaps"], dygraph(seeded_tinypose(), x), atol=1e-4, rtol=0)

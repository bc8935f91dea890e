"""TinyPose exports in the legacy format Paddle-Lite needs, and paddle2onnx converts it."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]

EXPORT = textwrap.dedent("""
    import sys
    import numpy as np
    import paddle
    from paddle.static import InputSpec
    from tasks.keypoint.model import TinyPose

    out, h, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    model = TinyPose()
    model.eval()
    # weights of O(1) effect (the default init makes near-zero heatmaps, which would hide errors)
    rng = np.random.default_rng(0)
    for name, t in model.state_dict().items():
        shape = t.shape
        if name.endswith("._variance"):
            value = 0.5 + rng.uniform(0, 1, shape)
        elif len(shape) == 1:
            value = (1.0 if name.endswith(".weight") else 0.0) + 0.1 * rng.standard_normal(shape)
        else:
            value = rng.standard_normal(shape) * 0.7 / np.sqrt(np.prod(shape[1:]))
        t.set_value(value.astype(np.float32))
    x = np.random.default_rng(0).uniform(0, 1, (2, 3, h, w)).astype(np.float32)
    with paddle.no_grad():
        np.save(out + "/dygraph.npy", model(paddle.to_tensor(x)).numpy())
    np.save(out + "/input.npy", x)
    paddle.jit.save(model, out + "/model", input_spec=[InputSpec([None, 3, h, w], "float32", "image")])
""")


@pytest.mark.slow
def test_legacy_export_and_onnx_conversion(tmp_path):
    h, w = 128, 96
    env = dict(os.environ, FLAGS_enable_pir_api="0", PYTHONPATH=str(REPO))
    run = subprocess.run([sys.executable, "-c", EXPORT, str(tmp_path), str(h), str(w)],
                         env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "model.pdmodel").is_file() and (tmp_path / "model.pdiparams").is_file()

    import onnxruntime as ort
    import paddle2onnx
    onnx_file = tmp_path / "model.onnx"
    # optimize_tool="None": polygraphy's folding is not needed and may try to pip-install
    paddle2onnx.export(str(tmp_path / "model.pdmodel"), str(tmp_path / "model.pdiparams"),
                       str(onnx_file), opset_version=11, optimize_tool="None")
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"image": np.load(tmp_path / "input.npy")})
    expected = np.load(tmp_path / "dygraph.npy")
    assert out.shape == expected.shape == (2, 17, h // 4, w // 4)
    assert expected.std() > 0.05  # the comparison below is not trivially met
    np.testing.assert_allclose(out, expected, atol=1e-4)

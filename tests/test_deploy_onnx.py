"""ONNX export checked with onnxruntime (never installing a package), the CPU KeypointPredictor
on top of it, and the runtimes on an export folder holding only one of its programs."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from deploy_helpers import dygraph, fixed_inputs, seeded_tinypose
from tasks.export.onnx import OnnxError, check_onnx, export_onnx
from tasks.runtime.keypoint_predictor import KeypointPredictor
from tasks.runtime.runners import OnnxRunner, PaddleInferenceRunner

REPO = Path(__file__).resolve().parents[1]
EXPORT_AND_CHECK = textwrap.dedent("""
    import json, sys
    import numpy as np
    from tasks.export.onnx import check_onnx, export_onnx
    model_dir, onnx_path = sys.argv[1:3]
    export_onnx(model_dir, onnx_path)
    x = np.random.default_rng(0).standard_normal((2, 3, 128, 96)).astype(np.float32)
    print("RESULT", json.dumps(check_onnx(onnx_path, model_dir, [x])))
""")


@pytest.fixture(scope="module")
def model_dir(tinypose_export):
    return tinypose_export


@pytest.fixture(scope="module")
def image_and_boxes():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    boxes = np.array([[40.0, 30.0, 70.0, 150.0], [180.0, 60.0, 90.0, 120.0]])
    return image, boxes


@pytest.mark.slow
def test_onnx_matches_paddle_inference(model_dir, tmp_path):
    info = export_onnx(model_dir, tmp_path / "model.onnx", opset=13)
    assert info["opset"] == 13 and info["size"] > 1_000_000
    result = check_onnx(tmp_path / "model.onnx", model_dir, [fixed_inputs()])
    assert result["ok"] and result["max_abs_diff"] <= 1e-4 and result["output_shapes"] == [[2, 17, 32, 24]]
    with pytest.raises(OnnxError, match=r"max abs diff [0-9.e+-]+ > 1e-12"):
        check_onnx(tmp_path / "model.onnx", model_dir, [fixed_inputs()], tol=1e-12)


def test_a_split_batch_runs_concurrent_parts_that_equal_one_session(model_dir):
    whole = OnnxRunner(model_dir / "model.onnx", threads=2)
    split = OnnxRunner(model_dir / "model.onnx", threads=2, split_batch=True)
    assert len(split._sessions) == 2 and split.input_names == whole.input_names
    crops = np.random.default_rng(4).standard_normal((5, 3, 128, 96)).astype(np.float32)
    for batch in (crops, crops[:1]):   # parts of 3 and 2 crops; one crop on one session
        heatmaps = split(batch)[0]
        assert heatmaps.shape == (len(batch), 17, 32, 24)
        np.testing.assert_allclose(heatmaps, whole(batch)[0], atol=1e-5, rtol=0)


def test_predictor_defaults_to_onnxruntime_and_agrees_with_paddle(model_dir, image_and_boxes):
    image, boxes = image_and_boxes
    fast = KeypointPredictor(model_dir)
    assert fast.backend == "onnxruntime"
    slow = KeypointPredictor(model_dir, backend="paddle")
    kpts = fast.predict(image, boxes)
    assert kpts.shape == (2, 17, 3) and kpts.dtype == np.float32
    np.testing.assert_allclose(kpts, slow.predict(image, boxes), atol=0.05, rtol=0)
    assert fast.predict(image, np.zeros((0, 4))).shape == (0, 17, 3)
    # every keypoint lies in its box enlarged by the 1.25 padding (and the aspect-ratio fill)
    for (x, y, w, h), person in zip(boxes, kpts):
        cx, cy, half = x + w / 2, y + h / 2, 1.25 * max(w, h * 96 / 128) / 2 * 128 / 96 + 1
        assert np.all(np.abs(person[:, 0] - cx) <= half) and np.all(np.abs(person[:, 1] - cy) <= half)


def test_predictor_maps_keypoints_back_to_the_image(model_dir, image_and_boxes):
    image, boxes = image_and_boxes
    predictor = KeypointPredictor(model_dir)
    canvas = np.zeros((400, 500, 3), dtype=np.uint8)
    canvas[50:290, 70:390] = image  # same pixels, moved by (70, 50)
    moved = predictor.predict(canvas, boxes + [70, 50, 0, 0])
    # cv2 warps bilinearly on a 1/32-pixel grid, so a moved crop differs by a few 1e-3 px
    np.testing.assert_allclose(moved[..., :2], predictor.predict(image, boxes)[..., :2] + [70, 50], atol=0.01)


@pytest.mark.slow
def test_onnx_export_installs_nothing(model_dir, tmp_path):
    # A clean environment: onnx_graphsurgeon cannot be imported (paddle2onnx's Polygraphy folding
    # would then pip-install it) and no package index answers (a closed localhost port).
    hidden = tmp_path / "hidden" / "onnx_graphsurgeon"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError('hidden by the test: a clean environment')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hidden.parent), str(REPO)]), PIP_NO_INDEX="1",
               PIP_INDEX_URL="http://127.0.0.1:9/simple", PIP_EXTRA_INDEX_URL="http://127.0.0.1:9/simple")
    proc = subprocess.run([sys.executable, "-c", EXPORT_AND_CHECK, str(model_dir), str(tmp_path / "m.onnx")],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    for attempt in ("pip install", "Installing", "Attempting to install", "Polygraphy"):
        assert attempt not in output, f"{attempt!r} in the export's output:\n{output[-3000:]}"
    result = json.loads(output.split("RESULT ", 1)[1].splitlines()[0])
    assert result["ok"] and result["max_abs_diff"] <= 1e-4 and result["output_shapes"] == [[2, 17, 32, 24]]


@pytest.mark.slow
@pytest.mark.parametrize("program", ["model.json", "model.pdmodel"])
def test_either_program_alone_serves_the_runtimes(model_dir, tmp_path, image_and_boxes, program):
    # PaddleDetection's Paddle-3 releases carry model.json only, older ones model.pdmodel only.
    alone = tmp_path / "export"
    alone.mkdir()
    for name in (program, "model.pdiparams", "infer_cfg.yml"):
        os.link(model_dir / name, alone / name)
    x = fixed_inputs()
    runner = PaddleInferenceRunner(alone)
    assert runner.program_file.name == program
    np.testing.assert_allclose(runner(x)[0], dygraph(seeded_tinypose(), x), atol=1e-4, rtol=0)
    assert export_onnx(alone, alone / "model.onnx")["program"] == program
    image, boxes = image_and_boxes
    expected = KeypointPredictor(model_dir, backend="paddle").predict(image, boxes)
    for backend in ("onnxruntime", "paddle"):
        np.testing.assert_allclose(KeypointPredictor(alone, backend=backend).predict(image, boxes), expected,
                                   atol=0.05, rtol=0)

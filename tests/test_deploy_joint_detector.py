"""A hand-made person detector exported in PaddleDetection's PicoDet deploy layout, in both
forms (NMS in the graph, as PaddleDetection's released models; and without), and
tasks.runtime.detector_predictor on it.

The network finds the sample's stick figures without training: its box is the extent of
the dark pixels (limbs are drawn grey 96 on a light background), its score 1 when there
are enough of them. It is exported by paddle.jit.save in a child process as a PIR program
(model.json, as PaddleDetection's Paddle-3 releases ship; paddle.inference and paddle2onnx
read it; Paddle 3.3.1 cannot trace its reductions into a legacy program), next to an
infer_cfg.yml written as PaddleDetection's export writes PicoDet's (fused
normalization: no NormalizeImage step). Other tests import ``dark_detector_export``.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from tasks.export.layout.files import ONNX_FILE
from tasks.export.layout.infer_cfg import read_detector_export
from tasks.export.onnx import export_onnx
from tasks.runtime.detector_predictor import DetectorPredictor, person_boxes
from tasks.sample.video import render_frames

DET_SIZE = [192, 192]  # [w, h]
EXPORT_CHILD = r'''
import sys
import paddle

class DarkFigureDetector(paddle.nn.Layer):
    def __init__(self, with_nms, height, width):
        super().__init__()
        self.with_nms = with_nms
        self.register_buffer("ys", paddle.arange(height, dtype="float32").reshape([1, height, 1]))
        self.register_buffer("xs", paddle.arange(width, dtype="float32").reshape([1, 1, width]))

    def forward(self, image, scale_factor=None):
        dark = (image.mean(axis=1) < 105.0).astype("float32")            # [B, h, w]
        far = (1.0 - dark) * 1e6
        x1 = (self.xs + far).min(axis=[1, 2])
        y1 = (self.ys + far).min(axis=[1, 2])
        x2 = (self.xs - far).max(axis=[1, 2]) + 1.0
        y2 = (self.ys - far).max(axis=[1, 2]) + 1.0
        score = paddle.clip(dark.sum(axis=[1, 2]) / 40.0, 0.0, 1.0)
        boxes = paddle.stack([x1, y1, x2, y2], axis=-1)                   # [B, 4]
        if not self.with_nms:
            return boxes.reshape([-1, 1, 4]), score.reshape([-1, 1, 1])  # PaddleDetection's order
        scale = paddle.concat([scale_factor[:, 1:2], scale_factor[:, 0:1]] * 2, axis=1)
        rows = paddle.concat([paddle.zeros_like(score).reshape([-1, 1]), score.reshape([-1, 1]), boxes / scale], 1)
        return rows, paddle.ones_like(score).astype("int32")

with_nms, out_prefix, width, height = sys.argv[1] == "nms", sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
spec = [paddle.static.InputSpec([1, 3, height, width], "float32", "image")]
if with_nms:
    spec.append(paddle.static.InputSpec([1, 2], "float32", "scale_factor"))
model = DarkFigureDetector(with_nms, height, width)
model.eval()
paddle.jit.save(paddle.jit.to_static(model, input_spec=spec, full_graph=True), out_prefix)
'''


def dark_detector_export(out_dir, with_nms=False, input_size=DET_SIZE):
    """Export the hand-made detector to ``out_dir`` (model.json, model.pdiparams, infer_cfg.yml)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    w, h = input_size
    with tempfile.TemporaryDirectory() as tmp:  # to_static reads the layer's source: a file, not -c
        script = Path(tmp) / "export_dark_detector.py"
        script.write_text(EXPORT_CHILD)
        proc = subprocess.run([sys.executable, str(script), "nms" if with_nms else "raw", str(out_dir / "model"),
                               str(w), str(h)], env=dict(os.environ, FLAGS_enable_pir_api="1"),
                              capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    infer_cfg = {"mode": "paddle", "draw_threshold": 0.5, "metric": "COCO", "use_dynamic_shape": False,
                 "arch": "PicoDet",
                 "Preprocess": [{"type": "Resize", "interp": 2, "keep_ratio": False, "target_size": [h, w]},
                                {"type": "Permute"}],
                 "label_list": ["pedestrian"],
                 "NMS": {"keep_top_k": 100, "name": "MultiClassNMS", "nms_threshold": 0.6, "nms_top_k": 1000,
                         "score_threshold": 0.025},
                 "fpn_stride": [8, 16, 32, 64]}
    (out_dir / "infer_cfg.yml").write_text(yaml.safe_dump(infer_cfg, sort_keys=False))
    return out_dir


def iou_xywh(a, b):
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    inter = max(0, min(ax2, bx2) - max(a[0], b[0])) * max(0, min(ay2, by2) - max(a[1], b[1]))
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("det")
    folders = {"raw": dark_detector_export(root / "raw"), "nms": dark_detector_export(root / "nms", with_nms=True)}
    for folder in folders.values():   # what onnxruntime opens: runtimes never convert
        export_onnx(folder, folder / ONNX_FILE)
    return folders


def test_reads_paddledetection_picodet_layout(exports):
    cfg = read_detector_export(exports["raw"])   # PaddleDetection's layout: no `export:` section
    assert cfg["input_size"] == [192, 192] and cfg["interp"] == 2 and cfg["normalize"] is None
    assert cfg["nms"]["nms_threshold"] == 0.6 and cfg["nms_in_graph"] is None


@pytest.mark.parametrize("backend", ["onnxruntime", "paddle"])
@pytest.mark.parametrize("form", ["raw", "nms"])
def test_both_forms_find_the_walking_figure(exports, form, backend):
    frames, truth = render_frames()
    detector = DetectorPredictor(exports[form], backend=backend, threads=1)
    assert detector.with_nms == (form == "nms") and detector.backend == backend
    for index in (0, 17, 35):
        boxes = person_boxes(detector.detect(frames[index], min_score=0.5))
        assert len(boxes) == 1 and boxes[0, 4] == pytest.approx(1.0)
        # the dark pixels: the limbs, not the light head and the coloured joint discs
        assert iou_xywh(boxes[0, :4], truth[index]["bbox"]) > 0.75, (boxes, truth[index]["bbox"])


def test_nothing_dark_nothing_detected(exports):
    detector = DetectorPredictor(exports["raw"], threads=1)
    assert detector.detect(np.full((100, 150, 3), 200, np.uint8), min_score=0.5).shape == (0, 6)
    assert person_boxes(np.zeros((0, 6))).shape == (0, 5)

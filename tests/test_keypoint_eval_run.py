"""evaluate() end to end on a tiny generated val set: metrics.json, COCO results, drawings."""
import json
from pathlib import Path

import cv2
import numpy as np
import paddle
import pytest

from keypoint_tiny_data import make_tiny_coco
from tasks.deploy.draw import draw_pose
from tasks.keypoint.builders import build_model
from tasks.keypoint.cocoeval import STAT_NAMES
from tasks.keypoint.config import deep_merge, load_config, validate_config
from tasks.keypoint.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_evaluate_writes_metrics_results_and_drawings(tmp_path):
    ann, images = make_tiny_coco(tmp_path / "data", num_images=4, split="val")
    cfg = validate_config(deep_merge(load_config(ROOT / "configs" / "tinypose_128x96_sample.yml"),
                                     {"data": {"num_workers": 0}, "eval": {"batch_size": 4}}))
    paddle.seed(0)
    weights = tmp_path / "random.pdparams"
    paddle.save(build_model(cfg).state_dict(), str(weights))

    metrics = evaluate(cfg, weights, ann, images, tmp_path / "eval", num_vis=2, progress=False)
    saved = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert set(STAT_NAMES) <= set(saved) and saved["AP"] == metrics["AP"]
    assert 0.0 <= metrics["AP"] <= 1.0 and metrics["flip_test"] is True
    results = json.loads((tmp_path / "eval" / "keypoints_results.json").read_text())
    assert len(results) == metrics["persons"] == metrics["dataset_stats"]["kept"]
    assert all(len(r["keypoints"]) == 51 for r in results)
    drawn = sorted((tmp_path / "eval" / "vis").glob("*.jpg"))
    assert len(drawn) == 2 and cv2.imread(str(drawn[0])) is not None


def test_draw_pose_draws_limbs_above_threshold_only():
    image = np.zeros((100, 100, 3), np.uint8)
    kpts = np.zeros((1, 17, 3))
    kpts[0, 5] = [20, 20, 0.9]     # left shoulder
    kpts[0, 7] = [20, 80, 0.9]     # left elbow: limb 5-7 drawn
    kpts[0, 6] = [80, 20, 0.1]     # right shoulder below threshold: nothing towards it
    out = draw_pose(image, kpts, boxes=[[5, 5, 95, 95, 0.8]])
    assert image.sum() == 0, "input must not be modified"
    assert out[50, 20].any() and not out[20, 50].any()
    assert out[5, 50].any()        # box edge

"""evaluate() end to end on a tiny generated val set: metrics.json, COCO results, drawings."""
import json
from pathlib import Path

import cv2
import numpy as np
import paddle
import pytest

from keypoint_tiny_data import make_tiny_coco
from tasks.common.draw import draw_pose
from tasks.keypoint import evaluate as evaluate_module
from tasks.keypoint.builders import build_model
from tasks.keypoint.cocoeval import STAT_NAMES, oks_eval
from tasks.keypoint.config import deep_merge, load_config, validate_config
from tasks.keypoint.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[1]


def _config():
    return validate_config(deep_merge(load_config(ROOT / "configs" / "tinypose_128x96_sample.yml"),
                                      {"data": {"num_workers": 0}, "eval": {"batch_size": 4}}))


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    paddle.seed(0)
    weights = tmp_path_factory.mktemp("weights") / "random.pdparams"
    paddle.save(build_model(_config()).state_dict(), str(weights))
    return weights


@pytest.mark.slow
def test_evaluate_writes_metrics_results_and_drawings(tmp_path, random_weights):
    ann, images = make_tiny_coco(tmp_path / "data", num_images=4, split="val")
    metrics = evaluate(_config(), random_weights, ann, images, tmp_path / "eval", num_vis=2,
                       progress=False)
    saved = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert set(STAT_NAMES) <= set(saved) and saved["AP"] == metrics["AP"]
    assert metrics["flip_test"] is True
    results = json.loads((tmp_path / "eval" / "keypoints_results.json").read_text())
    assert len(results) == metrics["persons"] == metrics["dataset_stats"]["kept"]
    assert all(len(r["keypoints"]) == 51 for r in results)
    # The AP reported is pycocotools' on the results written, scored against the GT file.
    assert metrics["AP"] == round(oks_eval(ann, results)["AP"], 4)
    drawn = sorted((tmp_path / "eval" / "vis").glob("*.jpg"))
    assert len(drawn) == 2 and cv2.imread(str(drawn[0])) is not None


def test_evaluate_scores_ap_one_when_the_predictions_are_the_ground_truth(
        tmp_path, random_weights, monkeypatch):
    """What evaluate() does after the network (rescoring, OKS-NMS, results, COCOeval), fed the
    ground truth of each person as its prediction: AP and AR must be exactly 1."""
    def ground_truth_predictions(config, model, dataset, flip_test=True, progress=True):
        records = dataset.records
        keypoints = np.stack([np.concatenate([r["keypoints"], np.ones((len(r["keypoints"]), 1))], 1)
                              for r in records])
        return {"image_id": np.array([r["image_id"] for r in records]),
                "ann_id": np.array([r["ann_id"] for r in records]),
                "keypoints": keypoints,
                "area": np.array([np.prod(r["scale"] * config["data"]["pixel_std"]) for r in records]),
                "box_score": np.ones(len(records))}

    monkeypatch.setattr(evaluate_module, "predict_gt_boxes", ground_truth_predictions)
    ann, images = make_tiny_coco(tmp_path / "data", num_images=4, split="val")
    metrics = evaluate(_config(), random_weights, ann, images, tmp_path / "eval", num_vis=0,
                       progress=False)
    assert metrics["persons"] > 0 and metrics["results"] == metrics["persons"]
    assert metrics["AP"] == 1.0 and metrics["AR"] == 1.0


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

"""Detector evaluation: ground truth as detections scores AP 1, a known shift the AP its IoU gives,
boxes come back in original pixels, and evaluate() reports pycocotools' AP of the file it wrote."""
import json
from pathlib import Path

import numpy as np
import paddle
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval, Params

from keypoint_tiny_data import make_tiny_coco
from tasks.detection.config import load_config
from tasks.detection.dataset import build_detection_loader
from tasks.detection.evaluate import STAT_NAMES, bbox_eval, bbox_results, detect, evaluate

ROOT = Path(__file__).resolve().parents[1]
# [x, y, w, h] of persons on two 640x480 images (small, medium, large), a crowd region, an empty image
PERSONS = {1: [[40, 60, 120, 300], [300, 100, 24, 30], [420, 50, 60, 150]], 2: [[10, 10, 200, 400]], 3: []}
CROWD = {2: [300, 40, 300, 400]}


def _gt_file(tmp_path):
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 640, "height": 480} for i in PERSONS]
    annotations = []
    for image_id, boxes in PERSONS.items():
        for box in boxes:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1, "bbox": box,
                                "area": box[2] * box[3], "iscrowd": 0})
    for image_id, box in CROWD.items():
        annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1, "bbox": box,
                            "area": box[2] * box[3], "iscrowd": 1})
    path = tmp_path / "gt.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": [{"id": 1, "name": "person"}]}))
    return path


def _detections(shift_fraction=0.0):
    """detect()'s rows for every GT person, moved right by `shift_fraction` of its width."""
    detections = {}
    for image_id, boxes in PERSONS.items():
        rows = [[0, 0.9, x + shift_fraction * w, y, x + w + shift_fraction * w, y + h] for x, y, w, h in boxes]
        detections[image_id] = np.array(rows, dtype=np.float32).reshape(-1, 6)
    return detections


def test_ground_truth_as_detections_scores_ap_one(tmp_path):
    metrics = bbox_eval(_gt_file(tmp_path), bbox_results(_detections()))
    # all but AR1: one detection per image finds 2 of the 4 persons (image 1 has three)
    assert {name: metrics[name] for name in STAT_NAMES if name != "AR1"} == pytest.approx(
        {name: 1.0 for name in STAT_NAMES if name != "AR1"})
    assert metrics["AR1"] == pytest.approx(2 / 4)
    assert "Average Precision" in metrics["summary"]


def test_a_detection_on_a_crowd_region_is_no_false_positive(tmp_path):
    detections = _detections()
    x, y, w, h = CROWD[2]
    detections[2] = np.concatenate([detections[2], [[0, 0.95, x + 10, y + 10, x + 110, y + 210]]]).astype(np.float32)
    assert bbox_eval(_gt_file(tmp_path), bbox_results(detections))["AP"] == pytest.approx(1.0)


@pytest.mark.parametrize("shift_fraction", [0.1, 0.2, 0.3])
def test_a_known_shift_scores_the_ap_its_iou_gives(tmp_path, shift_fraction):
    """Every box moved right by s of its width has IoU (1 - s) / (1 + s) with its GT: matched at
    exactly the thresholds t <= IoU with precision 1, so AP is the fraction of those thresholds."""
    iou = (1 - shift_fraction) / (1 + shift_fraction)
    thresholds = Params(iouType="bbox").iouThrs
    assert np.abs(thresholds - iou).min() > 0.005, "choose a shift whose IoU is off a threshold"
    metrics = bbox_eval(_gt_file(tmp_path), bbox_results(_detections(shift_fraction)))
    assert metrics["AP"] == pytest.approx(float((thresholds <= iou).mean()))
    assert metrics["AP50"] == pytest.approx(1.0)
    assert metrics["AP75"] == pytest.approx(float(iou >= 0.75))


def test_no_detection_scores_zero(tmp_path):
    metrics = bbox_eval(_gt_file(tmp_path), [])
    assert metrics["AP"] == 0.0 and metrics["AR"] == 0.0


def test_results_are_coco_xywh_of_the_person_category():
    rows = {7: np.array([[0, 0.8, 10.5, 20.0, 50.5, 120.25]], dtype=np.float32)}
    assert bbox_results(rows) == [{"image_id": 7, "category_id": 1, "bbox": [10.5, 20.0, 40.0, 100.25],
                                   "score": 0.8}]
    with pytest.raises(ValueError, match="class 1"):
        bbox_results({7: np.array([[1, 0.8, 0, 0, 1, 1]], dtype=np.float32)})


class WholeInputBox(paddle.nn.Layer):
    """A 'detector' that finds one person covering its whole input, score 0.9."""

    def forward(self, images):
        batch, _, height, width = images.shape
        boxes = paddle.to_tensor([[[0.0, 0.0, float(width), float(height)]]] * batch)
        return paddle.full([batch, 1, 1], 0.9), boxes


def test_detections_come_back_in_original_pixels(tmp_path):
    ann, images = make_tiny_coco(tmp_path, num_images=3, split="val")
    config = load_config(ROOT / "configs" / "picodet_s_192_sample.yml")
    config["data"]["num_workers"] = 0
    loader, _, dataset = build_detection_loader(config, ann, images, train=False)
    detections = detect(config, WholeInputBox(), loader, progress=False)
    sizes = {image["id"]: (image["width"], image["height"]) for image in json.loads(ann.read_text())["images"]}
    assert sorted(detections) == sorted(sizes)
    for image_id, (width, height) in sizes.items():
        np.testing.assert_allclose(detections[image_id], [[0, 0.9, 0, 0, width, height]], rtol=1e-5)


class RandomBoxes(paddle.nn.Layer):
    """A 'detector' of 300 seeded random person-shaped boxes an image, random scores."""

    def __init__(self, seed=0):
        super().__init__()
        self.rng = np.random.default_rng(seed)

    def forward(self, images):
        batch, _, height, width = images.shape
        size = self.rng.uniform([0.1 * width, 0.2 * height], [0.5 * width, 0.9 * height], (batch, 300, 2))
        corner = self.rng.uniform(0, 1, (batch, 300, 2)) * ([width, height] - size)
        boxes = np.concatenate([corner, corner + size], axis=-1).astype(np.float32)
        scores = self.rng.uniform(0, 1, (batch, 1, 300)).astype(np.float32)
        return paddle.to_tensor(scores), paddle.to_tensor(boxes)


def test_evaluate_reports_pycocotools_ap_of_the_results_it_wrote(tmp_path, monkeypatch):
    """Random boxes: an AP that is neither 0 nor 1, and the same AP when pycocotools reads the
    written file."""
    import tasks.detection.evaluate as evaluation
    monkeypatch.setattr(evaluation, "build_model", lambda config: RandomBoxes())
    ann, images = make_tiny_coco(tmp_path / "data", num_images=4, split="val")
    config = load_config(ROOT / "configs" / "picodet_s_192_sample.yml")
    config["data"]["num_workers"] = 0
    weights = tmp_path / "none.pdparams"
    paddle.save(RandomBoxes().state_dict(), str(weights))

    metrics = evaluate(config, weights, ann, images, tmp_path / "eval", num_vis=2, progress=False)
    results = json.loads((tmp_path / "eval" / "bbox_results.json").read_text())
    assert len(results) == metrics["results"] == 4 * config["nms"]["keep_top_k"]
    coco_gt = COCO(str(ann))
    evaluator = COCOeval(coco_gt, coco_gt.loadRes(results), iouType="bbox")
    evaluator.params.catIds = [1]
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    assert [metrics[name] for name in STAT_NAMES] == [round(float(v), 4) for v in evaluator.stats]
    assert 0.01 < metrics["AP50"] < 0.99
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["AP"] == metrics["AP"]
    assert sorted(p.name for p in (tmp_path / "eval" / "vis").glob("*.jpg")) == sorted(metrics["vis"])
    assert len(metrics["vis"]) == 2

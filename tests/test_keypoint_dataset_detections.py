"""TopDownCocoDataset with detector boxes (use_gt_bbox=False) instead of ground truth."""
import json

import numpy as np
import pytest

from tasks.keypoint.dataset import TopDownCocoDataset
from tasks.keypoint.geometry import boxes_to_centers_scales


@pytest.fixture
def files(tmp_path):
    ann = tmp_path / "val.json"
    ann.write_text(json.dumps({"images": [{"id": 7, "file_name": "a.jpg", "width": 64, "height": 48}],
                               "annotations": [], "categories": [{"id": 1, "name": "person"}]}))
    detections = [{"image_id": 7, "category_id": 1, "bbox": [4, 5, 20, 30], "score": 0.9},
                  {"image_id": 7, "category_id": 1, "bbox": [30, 2, 10, 10], "score": 0.2},
                  {"image_id": 7, "category_id": 3, "bbox": [1, 1, 5, 5], "score": 0.99}]
    bbox = tmp_path / "bbox.json"
    bbox.write_text(json.dumps(detections))
    return ann, bbox


def test_detection_boxes_are_filtered_and_counted(files, tmp_path):
    ann, bbox = files
    dataset = TopDownCocoDataset(ann, tmp_path, (96, 128), transforms=lambda r: r, use_gt_bbox=False,
                                 bbox_file=bbox, det_score_threshold=0.5)
    assert dataset.stats == {"persons": 3, "kept": 1, "other_category": 1, "low_score": 1}
    record = dataset.records[0]
    (center,), (scale,) = boxes_to_centers_scales([[4, 5, 20, 30]], (96, 128))
    np.testing.assert_allclose(record["center"], center)
    np.testing.assert_allclose(record["scale"], scale)
    assert record["score"] == pytest.approx(0.9) and record["ann_id"] == -1
    assert record["image_file"].endswith("a.jpg")


def test_detection_on_an_unknown_image_is_named(files, tmp_path):
    ann, bbox = files
    bbox.write_text(json.dumps([{"image_id": 8, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 1.0}]))
    with pytest.raises(ValueError, match="image id 8"):
        TopDownCocoDataset(ann, tmp_path, (96, 128), transforms=lambda r: r, use_gt_bbox=False,
                           bbox_file=bbox)

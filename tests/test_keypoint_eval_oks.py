"""OKS evaluation: ground truth as predictions scores AP 1.0, a known shift the AP its OKS gives."""
import json

import numpy as np
import pytest
from pycocotools.cocoeval import Params

from tasks.keypoint.cocoeval import oks_eval, oks_nms, person_results, rescore


def _gt_file(tmp_path, num_images=4, persons=2, seed=0):
    rng = np.random.default_rng(seed)
    images, annotations = [], []
    for image_id in range(1, num_images + 1):
        images.append({"id": image_id, "file_name": f"{image_id}.jpg", "width": 640, "height": 480})
        for p in range(persons):
            x0, y0, w, h = 40 + 250 * p, 60, 120, 300
            xy = np.stack([rng.uniform(x0, x0 + w, 17), rng.uniform(y0, y0 + h, 17)], 1)
            kpts = np.concatenate([xy, np.full((17, 1), 2.0)], 1)
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                                "bbox": [x0, y0, w, h], "area": w * h, "iscrowd": 0,
                                "num_keypoints": 17, "keypoints": kpts.ravel().round(2).tolist()})
    gt = {"images": images, "annotations": annotations,
          "categories": [{"id": 1, "name": "person", "keypoints": [str(i) for i in range(17)],
                          "skeleton": [[16, 14], [14, 12]]}]}
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    return path, annotations


def _as_results(annotations, shift=0.0):
    results = []
    for ann in annotations:
        kpts = np.array(ann["keypoints"], dtype=float).reshape(17, 3)
        kpts[:, :2] += shift
        kpts[:, 2] = 0.9
        results.append({"image_id": ann["image_id"], "category_id": 1,
                        "keypoints": kpts.ravel().tolist(), "score": 0.9})
    return results


def test_ground_truth_as_predictions_scores_ap_one(tmp_path):
    gt, annotations = _gt_file(tmp_path)
    metrics = oks_eval(gt, _as_results(annotations))
    assert metrics["AP"] == pytest.approx(1.0)
    assert metrics["AR"] == pytest.approx(1.0)
    assert "Average Precision" in metrics["summary"]


def _expected_ap(shift, area):
    """AP when every prediction is its GT moved by (shift, shift) px, from the OKS formula.

    Every person then has the same OKS = mean_k exp(-d^2 / (2 * area * (2 sigma_k)^2)),
    d^2 = 2 shift^2, and is matched at exactly the thresholds t <= OKS, with precision 1
    there and 0 elsewhere: AP (and AR) is the fraction of thresholds at or below OKS."""
    params = Params(iouType="keypoints")
    variances = (2 * np.asarray(params.kpt_oks_sigmas)) ** 2
    oks = np.exp(-2 * shift ** 2 / variances / area / 2).mean()
    assert np.abs(params.iouThrs - oks).min() > 0.005, "choose a shift whose OKS is off a threshold"
    return float((params.iouThrs <= oks).mean())


@pytest.mark.parametrize("shift, expected", [(6.0, 0.8), (10.0, 0.6)])
def test_shifted_predictions_score_the_ap_of_their_oks(tmp_path, shift, expected):
    gt, annotations = _gt_file(tmp_path)
    assert _expected_ap(shift, area=annotations[0]["area"]) == expected
    metrics = oks_eval(gt, _as_results(annotations, shift))
    assert metrics["AP"] == pytest.approx(expected)
    assert metrics["AR"] == pytest.approx(expected)
    assert metrics["AP50"] == pytest.approx(1.0)


def test_empty_results_are_an_error(tmp_path):
    gt, _ = _gt_file(tmp_path)
    with pytest.raises(ValueError, match="no keypoint results"):
        oks_eval(gt, [])


def test_rescore_averages_confident_joints_times_box_score():
    kpts = np.zeros((17, 3))
    kpts[:4, 2] = [0.9, 0.5, 0.1, 0.2]   # 0.1 and 0.2 are not above 0.2
    assert rescore(kpts, box_score=0.5) == pytest.approx(0.7 * 0.5)
    assert rescore(np.zeros((17, 3))) == 0.0


def test_oks_nms_drops_near_duplicate_keeps_distinct():
    base = np.concatenate([np.random.default_rng(1).uniform(0, 100, (17, 2)), np.ones((17, 1))], 1)
    poses = np.stack([base, base + [0.5, 0.5, 0], base + [300, 0, 0]])
    keep = oks_nms(poses, scores=[0.5, 0.9, 0.7], areas=[1e4] * 3, thr=0.9)
    assert keep == [1, 2]


def test_person_results_one_per_box_with_rescored_score():
    kpts = np.ones((3, 17, 3))
    kpts[:, :, :2] = np.random.default_rng(2).uniform(0, 100, (3, 17, 2)) + [[[0, 0]], [[200, 0]], [[400, 0]]]
    kpts[:, :, 2] = 0.6
    results = person_results([1, 1, 2], kpts, areas=[1e4] * 3)
    assert sorted(r["image_id"] for r in results) == [1, 1, 2]
    assert all(r["score"] == pytest.approx(0.6) for r in results)

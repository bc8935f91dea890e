"""multiclass_nms against a brute-force version written from its definition, against Paddle's own
``multiclass_nms3`` rows (parity_picodet_*.npz), and on empty input."""
import numpy as np
import pytest

from reference import load_npz
from tasks.detection.nms import multiclass_nms, pairwise_iou

SETTINGS = dict(score_threshold=0.025, nms_threshold=0.6, nms_top_k=1000, keep_top_k=100)


def iou_of_pair(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1]) + max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1]) - w * h
    return w * h / union if union > 0 else 0.0


def brute_force_nms(boxes, scores, score_threshold, nms_threshold, nms_top_k, keep_top_k):
    """Pair by pair: per class, sort the boxes above the threshold by score (ties: box order), keep the first
    nms_top_k, keep a box unless one kept before it overlaps it by more than nms_threshold; then the
    keep_top_k best over all classes, listed by class and score."""
    detections = []
    for label, class_scores in enumerate(scores):
        order = sorted((i for i in range(len(boxes)) if class_scores[i] > score_threshold),
                       key=lambda i: (-class_scores[i], i))[:nms_top_k]
        kept = []
        for i in order:
            if all(iou_of_pair(boxes[i], boxes[k]) <= nms_threshold for k in kept):
                kept.append(i)
        detections += [(label, rank, class_scores[i], i) for rank, i in enumerate(kept)]
    best = sorted(range(len(detections)), key=lambda d: (-detections[d][2], d))[:keep_top_k]
    rows = sorted(detections[d] for d in best)
    return np.array([[label, score, *boxes[i]] for label, _, score, i in rows], dtype=np.float32).reshape(-1, 6)


def random_case(seed, num_boxes, num_classes):
    """Boxes in clusters (so that NMS suppresses), scores spread around the threshold."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 300, (num_boxes // 10 + 1, 2))[rng.integers(0, num_boxes // 10 + 1, num_boxes)]
    centres += rng.normal(0, 8, (num_boxes, 2))
    sizes = rng.uniform(10, 80, (num_boxes, 2))
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1).astype(np.float32)
    scores = (rng.uniform(0, 1, (num_classes, num_boxes)) ** 3).astype(np.float32)
    scores[:, rng.integers(0, num_boxes, 5)] = 0.5  # a few exact ties
    return boxes, scores


def test_pairwise_iou_equals_pair_by_pair():
    boxes, _ = random_case(5, 40, 1)
    boxes[:3, 2:] = boxes[:3, :2]       # empty boxes: a zero union with each other gives 0
    boxes[3, 2:] = boxes[3, :2] - 5     # inverted: no area
    others = np.concatenate([boxes[:5], boxes[::-1][:20]])  # the empty and inverted ones too
    iou = pairwise_iou(boxes, others)
    assert iou.shape == (40, 25) and iou.dtype == np.float32
    expected = [[iou_of_pair(a, b) for b in others] for a in boxes]
    assert expected[0][1] == 0 and expected[0][0] == 0  # zero unions among the empty boxes
    np.testing.assert_allclose(iou, expected, rtol=1e-5, atol=1e-6)
    assert pairwise_iou(boxes[:0], others).shape == (0, 25)


@pytest.mark.parametrize("seed, num_boxes, num_classes", [(0, 400, 1), (1, 600, 3), (2, 60, 2)])
def test_equals_brute_force(seed, num_boxes, num_classes):
    boxes, scores = random_case(seed, num_boxes, num_classes)
    expected = brute_force_nms(boxes, scores, **SETTINGS)
    result = multiclass_nms(boxes, scores, **SETTINGS)
    np.testing.assert_array_equal(result, expected)
    assert 0 < len(result) <= 100


def test_limits():
    boxes, scores = random_case(3, 600, 2)
    suppressed = brute_force_nms(boxes, scores, 0.025, 0.6, 1000, 10000)
    assert len(suppressed) > 100  # so keep_top_k 100 really cuts
    assert len(multiclass_nms(boxes, scores, **SETTINGS)) == 100
    np.testing.assert_array_equal(multiclass_nms(boxes, scores, 0.025, 0.6, -1, -1), suppressed)
    np.testing.assert_array_equal(multiclass_nms(boxes, scores, 0.025, 0.6, 20, -1),
                                  brute_force_nms(boxes, scores, 0.025, 0.6, 20, 10000))


@pytest.mark.parametrize("model", ["picodet_s_192_lcnet_pedestrian", "picodet_s_320_lcnet_pedestrian"])
def test_equals_paddle_multiclass_nms(model):
    reference = load_npz(f"parity_{model}")
    assert np.all(reference["nms_scale_factor"] == 1)  # decoded boxes are already in the NMS's pixels
    result = multiclass_nms(reference["decoded_boxes"][0], reference["decoded_scores"][0], **SETTINGS)
    assert len(result) == int(reference["nms_bbox_num"][0])
    np.testing.assert_allclose(result, reference["nms_bbox"], atol=1e-3, rtol=0)


def test_empty():
    boxes, scores = random_case(4, 50, 1)
    assert multiclass_nms(boxes, np.minimum(scores, 0.025), **SETTINGS).shape == (0, 6)  # threshold is strict
    assert multiclass_nms(np.zeros((0, 4)), np.zeros((1, 0)), **SETTINGS).shape == (0, 6)
    assert multiclass_nms(np.zeros((0, 4)), np.zeros((0, 0)), **SETTINGS).shape == (0, 6)
    with pytest.raises(ValueError, match=r"scores \[C, N\]"):
        multiclass_nms(boxes, scores.T, **SETTINGS)

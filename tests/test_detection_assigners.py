"""ATSS and TaskAligned assigners: hand-made boxes with hand-computed results, and PaddleDetection's own
assignments (tests/data/reference/picodet_loss_*.npz) for both stages."""
import math

import numpy as np
import paddle
import pytest

from detection_loss_reference import LOSS_MODELS, STAGE_EPOCHS, loss_case
from tasks.detection.assigners import ATSSAssigner, TaskAlignedAssigner
from tasks.detection.losses import PicoDetLoss


def tensor(values, dtype="float32"):
    return paddle.to_tensor(np.asarray(values, dtype=dtype))


# One level of four 10x10 anchors side by side: centres (5, 5), (15, 5), (25, 5), (35, 5).
ANCHORS = [[0, 0, 10, 10], [10, 0, 20, 10], [20, 0, 30, 10], [30, 0, 40, 10]]
ANCHOR_POINTS = [[5, 5], [15, 5], [25, 5], [35, 5]]


def test_atss_hand_made():
    # image 0: gt A = anchor 1 exactly (class 0), gt B = (12, 0, 24, 10) (class 1), one padding row;
    # image 1: padding only.
    gt_bbox = tensor([[[10, 0, 20, 10], [12, 0, 24, 10], [0, 0, 0, 0]], [[0, 0, 0, 0]] * 3])
    gt_class = tensor([[[0], [1], [0]], [[0]] * 3], "int32")
    pad_gt_mask = tensor([[[1], [1], [0]], [[0]] * 3])
    # gt A: the 3 nearest anchors are 1 (distance 0), 0 and 2 (10); IoUs 1, 0, 0:
    #   mean 1/3 + unbiased std sqrt(1/3) = 0.9107 -> anchor 1 only (IoU 1).
    # gt B, centre (18, 5): nearest 1 (3), 2 (7), 0 (13); IoUs 80/140 = 4/7, 40/180 = 2/9, 0:
    #   mean 50/189, std sqrt(2964)/189 -> threshold 0.5526 < 4/7 -> anchor 1 again.
    mean_b = (4 / 7 + 2 / 9) / 3
    std_b = math.sqrt(((4 / 7 - mean_b) ** 2 + (2 / 9 - mean_b) ** 2 + mean_b ** 2) / 2)
    assert mean_b + std_b == pytest.approx(0.55261, abs=1e-5) and 4 / 7 > mean_b + std_b
    # anchor 1 positive for both: the gt it overlaps most wins (A, IoU 1 > 4/7).
    # Prediction of anchor 1: (10, 0, 20, 5) -> IoU with A = 50 / 100 = 0.5, the soft target.
    pred = tensor([[[0, 0, 10, 10], [10, 0, 20, 5], [20, 0, 30, 10], [30, 0, 40, 10]]] * 2)
    assigner = ATSSAssigner(topk=3, num_classes=2)
    labels, bboxes, scores = assigner(tensor(ANCHORS), [4], gt_class, gt_bbox, pad_gt_mask, pred_bboxes=pred)
    np.testing.assert_array_equal(labels.numpy(), [[2, 0, 2, 2], [2, 2, 2, 2]])
    np.testing.assert_array_equal(bboxes.numpy()[0, 1], [10, 0, 20, 10])
    np.testing.assert_allclose(scores.numpy(), [[[0, 0], [0.5, 0], [0, 0], [0, 0]], [[0, 0]] * 4], atol=1e-6)
    # without predictions the soft target is the one-hot class
    _, _, one_hot = assigner(tensor(ANCHORS), [4], gt_class, gt_bbox, pad_gt_mask)
    np.testing.assert_array_equal(one_hot.numpy()[0], [[0, 0], [1, 0], [0, 0], [0, 0]])


def test_atss_two_levels_take_topk_per_level():
    # level 0: the four anchors; level 1: one 40x40 anchor (0, 0, 40, 40), centre (20, 20).
    # gt = that 40x40 box, topk 2: level 0 gives anchors 1 and 2 (distance 15.8, IoU 100/1600 = 1/16
    # each), level 1 its only anchor (distance 0, IoU 1). mean 3/8, unbiased std 0.5413:
    ious = np.array([1 / 16, 1 / 16, 1])
    threshold = ious.mean() + ious.std(ddof=1)
    assert threshold == pytest.approx(0.91627, abs=1e-5)  # only the level-1 anchor is above
    anchors = tensor(ANCHORS + [[0, 0, 40, 40]])
    labels, bboxes, _ = ATSSAssigner(topk=2)(anchors, [4, 1], tensor([[[0]]], "int32"), tensor([[[0, 0, 40, 40]]]),
                                             tensor([[[1]]]))
    np.testing.assert_array_equal(labels.numpy(), [[1, 1, 1, 1, 0]])
    np.testing.assert_array_equal(bboxes.numpy()[0, 4], [0, 0, 40, 40])


def test_task_aligned_hand_made():
    # gt A (0, 0, 20, 10) holds points 0 and 1; gt B (20, 0, 40, 10) holds points 2 and 3 (strictly inside).
    gt_bbox = tensor([[[0, 0, 20, 10], [20, 0, 40, 10], [0, 0, 0, 0]]])
    gt_class = tensor([[[0], [0], [0]]], "int32")
    pad_gt_mask = tensor([[[1], [1], [0]]])
    pred_bboxes = tensor([[[0, 0, 10, 10], [0, 0, 20, 8], [20, 0, 30, 10], [20, 0, 40, 10]]])
    pred_scores = tensor([[[0.5], [0.8], [0.6], [0.9]]])
    # IoUs with their gt: 0.5, 0.8, 0.5, 1. Metric score * IoU^6:
    metric = np.array([0.5 * 0.5 ** 6, 0.8 * 0.8 ** 6, 0.6 * 0.5 ** 6, 0.9 * 1.0])
    # topk 2 per gt: both inside points of each gt are positive. Soft target of an anchor:
    # metric / (best metric of its gt) * (best IoU of its gt).
    expected = [metric[0] / metric[1] * 0.8, 0.8, metric[2] / metric[3] * 1.0, 1.0]
    assert expected[0] == pytest.approx(0.0298023, abs=1e-6)
    labels, bboxes, scores = TaskAlignedAssigner(topk=2)(pred_scores, pred_bboxes, tensor(ANCHOR_POINTS),
                                                         gt_class, gt_bbox, pad_gt_mask)
    np.testing.assert_array_equal(labels.numpy(), [[0, 0, 0, 0]])
    np.testing.assert_array_equal(bboxes.numpy()[0], [[0, 0, 20, 10]] * 2 + [[20, 0, 40, 10]] * 2)
    np.testing.assert_allclose(scores.numpy()[0, :, 0], expected, rtol=1e-5)
    # topk 1: only the best anchor of each gt
    labels, _, scores = TaskAlignedAssigner(topk=1)(pred_scores, pred_bboxes, tensor(ANCHOR_POINTS),
                                                    gt_class, gt_bbox, pad_gt_mask)
    np.testing.assert_array_equal(labels.numpy(), [[1, 0, 1, 0]])
    np.testing.assert_allclose(scores.numpy()[0, :, 0], [0, 0.8, 0, 1.0], rtol=1e-5)


@pytest.mark.parametrize("assigner_call", ["atss", "tal"])
def test_no_ground_truth_is_all_background(assigner_call):
    empty_bbox, empty_class, empty_mask = tensor(np.zeros((2, 0, 4))), tensor(np.zeros((2, 0, 1)), "int32"), \
        tensor(np.zeros((2, 0, 1)))
    if assigner_call == "atss":
        labels, bboxes, scores = ATSSAssigner(topk=3)(tensor(ANCHORS), [4], empty_class, empty_bbox, empty_mask)
    else:
        labels, bboxes, scores = TaskAlignedAssigner()(tensor(np.full((2, 4, 1), 0.5)), tensor([ANCHORS] * 2),
                                                       tensor(ANCHOR_POINTS), empty_class, empty_bbox, empty_mask)
    np.testing.assert_array_equal(labels.numpy(), np.ones((2, 4)))
    assert bboxes.shape == [2, 4, 4] and scores.shape == [2, 4, 1] and not scores.numpy().any()


@pytest.mark.parametrize("model", LOSS_MODELS)
@pytest.mark.parametrize("stage", sorted(STAGE_EPOCHS))
def test_assignments_equal_paddledetection(model, stage):
    reference, meta, outputs, targets = loss_case(model)
    loss = PicoDetLoss(static_assigner_epoch=meta["static_assigner_epoch"], atss_topk=meta["atss_topk"],
                       tal_topk=meta["tal_topk"], tal_alpha=meta["tal_alpha"], tal_beta=meta["tal_beta"])
    labels, bboxes, scores = loss.assign(outputs, targets["gt_bbox"], targets["gt_class"], targets["pad_gt_mask"],
                                         STAGE_EPOCHS[stage])
    expected_labels = reference[f"{stage}/assigned_labels"]
    assert (expected_labels == 0).sum() > 10  # the case has positives to compare
    np.testing.assert_array_equal(labels.numpy(), expected_labels)
    np.testing.assert_allclose(bboxes.numpy(), reference[f"{stage}/assigned_bboxes"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(scores.numpy(), reference[f"{stage}/assigned_scores"], atol=1e-5, rtol=0)

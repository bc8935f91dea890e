"""PicoDet's losses: each loss on hand-computed numbers, PicoDetLoss against PaddleDetection's own
values (tests/data/reference/picodet_loss_*.npz, both stages), images without persons, crowd regions."""
import math

import numpy as np
import paddle
import pytest

from detection_loss_reference import LOSS_MODELS, STAGE_EPOCHS, loss_case
from tasks.detection.boxes import box_centers
from tasks.detection.losses import DistributionFocalLoss, GIoULoss, PicoDetLoss, VarifocalLoss


def tensor(values):
    return paddle.to_tensor(np.asarray(values, dtype=np.float32))


def varifocal_numpy(scores, targets, alpha=0.75):
    """The Varifocal sum written out: BCE weighted by q on positives, alpha * p^2 on negatives (q = 0)."""
    scores, targets = scores.astype(np.float64), targets.astype(np.float64)
    bce = -(targets * np.log(scores) + (1 - targets) * np.log(1 - scores))
    return float((bce * np.where(targets > 0, targets, alpha * (scores - targets) ** 2)).sum())


def test_varifocal_hand_made():
    # positive p 0.5, q 0.8: BCE = ln 2, weight 0.8; negative p 0.2, q 0: BCE = -ln 0.8, weight 0.75 * 0.2^2
    expected = 0.8 * math.log(2) + 0.75 * 0.04 * -math.log(0.8)
    loss = VarifocalLoss()(tensor([[0.5], [0.2]]), tensor([[0.8], [0.0]]))
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    assert float(VarifocalLoss(loss_weight=2.0)(tensor([[0.5], [0.2]]), tensor([[0.8], [0.0]]),
                                                weight=tensor([[1.0], [0.0]]))) == pytest.approx(1.6 * math.log(2))


def test_distribution_focal_hand_made():
    # logits (0, ln 3, 0, 0): probabilities (1/6, 1/2, 1/6, 1/6). Target 1.25 = bins 1 (share 0.75) and 2 (0.25):
    expected = 0.75 * math.log(2) + 0.25 * math.log(6)
    logits = tensor([[0, math.log(3), 0, 0]])
    assert float(DistributionFocalLoss(loss_weight=1.0)(logits, tensor([1.25]))) == pytest.approx(expected, rel=1e-6)
    # default weight 0.5, per-row weight 0.4
    weighted = DistributionFocalLoss()(logits, tensor([1.25]), tensor([0.4]))
    assert float(weighted) == pytest.approx(0.2 * expected, rel=1e-6)


def test_giou_hand_made():
    pred = tensor([[0, 0, 2, 2], [0, 0, 1, 1], [0, 0, 1, 1]])
    target = tensor([[1, 1, 3, 3], [2, 0, 3, 1], [0, 0, 1, 1]])
    # overlap 1, union 7, enclosing 9: GIoU = 1/7 - 2/9; disjoint: 0 - (3 - 2)/3; identical: 1
    expected = [1 - (1 / 7 - 2 / 9), 1 + 1 / 3, 0.0]
    assert float(GIoULoss(loss_weight=1.0)(pred, target)) == pytest.approx(sum(expected), rel=1e-6)
    assert float(GIoULoss()(pred, target, tensor([1, 0, 1]))) == pytest.approx(2.5 * expected[0], rel=1e-6)


def reference_loss(meta):
    return PicoDetLoss(static_assigner_epoch=meta["static_assigner_epoch"], atss_topk=meta["atss_topk"],
                       tal_topk=meta["tal_topk"], tal_alpha=meta["tal_alpha"], tal_beta=meta["tal_beta"],
                       vfl_weight=meta["loss_weights"]["vfl"], giou_weight=meta["loss_weights"]["giou"],
                       dfl_weight=meta["loss_weights"]["dfl"])


@pytest.mark.parametrize("model", LOSS_MODELS)
@pytest.mark.parametrize("stage", sorted(STAGE_EPOCHS))
def test_losses_equal_paddledetection(model, stage):
    reference, meta, outputs, targets = loss_case(model)
    losses = reference_loss(meta)(outputs, targets["gt_bbox"], targets["gt_class"], targets["pad_gt_mask"],
                                  STAGE_EPOCHS[stage])
    for name in ("loss_vfl", "loss_bbox", "loss_dfl"):
        assert float(losses[name]) == pytest.approx(float(reference[f"{stage}/{name}"]), rel=1e-4), name
    assert float(losses["loss"]) == pytest.approx(sum(float(reference[f"{stage}/{n}"])
                                                      for n in ("loss_vfl", "loss_bbox", "loss_dfl")), rel=1e-4)
    losses["loss"].backward()
    for name in ("pred_scores", "pred_regs", "pred_bboxes"):
        grad = outputs[name].grad.numpy()
        assert np.isfinite(grad).all() and np.abs(grad).max() > 0, name


@pytest.mark.parametrize("num_boxes", [0, 3])
@pytest.mark.parametrize("stage", sorted(STAGE_EPOCHS))
def test_images_without_persons(num_boxes, stage):
    # no box at all ([B, 0, 4]) or padding only: every anchor is background and the normalizer is 1
    _, meta, outputs, _ = loss_case(LOSS_MODELS[0])
    losses = reference_loss(meta)(outputs, tensor(np.zeros((2, num_boxes, 4))),
                                  paddle.zeros([2, num_boxes, 1], dtype="int32"), tensor(np.zeros((2, num_boxes, 1))),
                                  STAGE_EPOCHS[stage])
    expected_vfl = varifocal_numpy(outputs["pred_scores"].numpy(), np.zeros(outputs["pred_scores"].shape))
    assert float(losses["loss_vfl"]) == pytest.approx(expected_vfl, rel=1e-5)
    assert float(losses["loss_bbox"]) == 0 and float(losses["loss_dfl"]) == 0
    assert float(losses["loss"]) == pytest.approx(expected_vfl, rel=1e-5)
    losses["loss"].backward()
    assert np.isfinite(outputs["pred_scores"].grad.numpy()).all()


def test_crowd_region_anchors_are_neither_positive_nor_negative():
    reference, meta, outputs, targets = loss_case(LOSS_MODELS[0])
    crowd = reference["gt_bbox"][1, 0]  # image 1's only person, (60, 10, 180, 190), made a crowd region
    ignore_bbox = tensor([[[0, 0, 0, 0]], [crowd]])  # image 0: padding
    loss = reference_loss(meta)
    # image 1 without its person, or with it: anchors in the region count for nothing either way
    without_person = targets["pad_gt_mask"].numpy().copy()
    without_person[1] = 0
    results = [loss(outputs, targets["gt_bbox"], targets["gt_class"], tensor(mask), 0, ignore_bbox=ignore_bbox)
               for mask in (without_person, targets["pad_gt_mask"].numpy())]

    # expected: image 0 as PaddleDetection assigns it, image 1 all negative outside the region
    scores = outputs["pred_scores"].numpy()
    points = box_centers(outputs["anchors"]).numpy()
    outside = ~((points > crowd[:2]) & (points < crowd[2:])).all(axis=1)
    assert 0 < outside.sum() < len(points)
    image0_targets = reference["atss/assigned_scores"][0]
    normalizer = max(1.0, float(image0_targets.sum()))
    expected_vfl = (varifocal_numpy(scores[0], image0_targets)
                    + varifocal_numpy(scores[1][outside], np.zeros_like(scores[1][outside]))) / normalizer
    # the box losses are image 0's alone: the same as for a batch of image 0 only
    image0 = {key: (value[:1] if key.startswith("pred_") else value) for key, value in outputs.items()}
    image0_losses = loss(image0, targets["gt_bbox"][:1], targets["gt_class"][:1], targets["pad_gt_mask"][:1], 0)
    for losses in results:
        assert float(losses["loss_vfl"]) == pytest.approx(expected_vfl, rel=1e-5)
        for name in ("loss_bbox", "loss_dfl"):
            assert float(losses[name]) == pytest.approx(float(image0_losses[name]), rel=1e-5)

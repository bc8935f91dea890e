"""PicoDet's training losses: the whole of PaddleDetection's ``PicoHeadV2.get_loss``.

``PicoDetLoss(outputs, gt_bbox, gt_class, pad_gt_mask, epoch, ignore_bbox=None)``
assigns targets (ATSS before ``static_assigner_epoch``, TaskAligned from it) and returns
``{"loss", "loss_vfl", "loss_bbox", "loss_dfl"}``:

* ``loss_vfl``: Varifocal loss of the scores against the soft targets, over every anchor;
* ``loss_bbox``: GIoU loss of the positive anchors' boxes (stride units), each weighted by
  its soft target;
* ``loss_dfl``: Distribution Focal loss of the positive anchors' side distributions, same
  weights, averaged over the four sides;

each divided by the sum of the soft targets (all-reduced and averaged over processes
when distributed, at least 1 so an image without persons gives a finite loss).

Crowd regions (``ignore_bbox`` [B, K, 4] x1y1x2y2 pixels, zero rows are padding): an anchor
whose point lies inside one is neither positive nor negative: it is taken out of the
assignment's result and has no classification loss. The point test (not an IoU) is used
because anchor boxes are fixed squares of 5 strides, whose IoU with a large crowd region
is small at every level. PaddleDetection's PicoDet does not use ``is_crowd`` at all.
"""
import numpy as np
import paddle
import paddle.nn.functional as F

from tasks.detection.assigners import ATSSAssigner, TaskAlignedAssigner
from tasks.detection.boxes import box_centers, box_to_distance, generalized_iou, points_inside_boxes


def _weighted_sum(loss, weight):
    return (loss if weight is None else loss * weight).sum()


class VarifocalLoss:
    """Varifocal loss (https://arxiv.org/abs/2008.13367) on probabilities, summed.

    Per element: BCE(p, q) * (q if q > 0 else alpha * |p - q|^gamma); with ``iou_weighted``
    off, positives weigh 1 instead of q.
    """

    def __init__(self, alpha=0.75, gamma=2.0, iou_weighted=True, loss_weight=1.0):
        self.alpha = alpha
        self.gamma = gamma
        self.iou_weighted = iou_weighted
        self.loss_weight = loss_weight

    def __call__(self, scores, targets, weight=None):
        """scores, targets [..., C] in [0, 1]; weight broadcastable to them."""
        positive = (targets > 0).astype(scores.dtype)
        positive_weight = targets * positive if self.iou_weighted else positive
        focal_weight = positive_weight + self.alpha * (scores - targets).abs().pow(self.gamma) * (1 - positive)
        loss = F.binary_cross_entropy(scores, targets, reduction="none") * focal_weight
        return self.loss_weight * _weighted_sum(loss, weight)


class DistributionFocalLoss:
    """Distribution Focal loss (https://arxiv.org/abs/2006.04388), summed.

    A continuous target t in [0, reg_max) is learnt as the two bins around it:
    CE(logits, floor(t)) * (floor(t) + 1 - t) + CE(logits, floor(t) + 1) * (t - floor(t)).
    """

    def __init__(self, loss_weight=0.5):
        self.loss_weight = loss_weight

    def __call__(self, logits, targets, weight=None):
        """logits [N, reg_max + 1], targets [N] (distances in bins), weight [N]."""
        left = targets.astype("int64")
        right_share = targets - left.astype(targets.dtype)
        log_probs = F.log_softmax(logits, axis=-1)
        left_ce = -paddle.take_along_axis(log_probs, left.unsqueeze(-1), axis=-1).squeeze(-1)
        right_ce = -paddle.take_along_axis(log_probs, (left + 1).unsqueeze(-1), axis=-1).squeeze(-1)
        loss = left_ce * (1 - right_share) + right_ce * right_share
        return self.loss_weight * _weighted_sum(loss, weight)


class GIoULoss:
    """1 - GIoU of matching boxes, summed."""

    def __init__(self, loss_weight=2.5):
        self.loss_weight = loss_weight

    def __call__(self, pred, target, weight=None):
        """pred, target [N, 4] x1y1x2y2; weight [N]."""
        return self.loss_weight * _weighted_sum(1 - generalized_iou(pred, target), weight)


def _normalizer(assigned_scores):
    """Sum of the soft targets; averaged over processes when distributed (as PaddleDetection); at least 1."""
    total = assigned_scores.sum()
    world_size = paddle.distributed.get_world_size()
    if world_size > 1:
        paddle.distributed.all_reduce(total)
        total = total / world_size
    return total.clip(min=1.0)


class PicoDetLoss:
    """PicoHeadV2's loss on the outputs of ``model.forward_train`` (module docstring)."""

    def __init__(self, num_classes=1, reg_max=7, static_assigner_epoch=100, atss_topk=9, tal_topk=13,
                 tal_alpha=1.0, tal_beta=6.0, vfl_weight=1.0, giou_weight=2.5, dfl_weight=0.5):
        self.num_classes = num_classes
        self.reg_max = reg_max
        self.static_assigner_epoch = static_assigner_epoch
        self.atss = ATSSAssigner(topk=atss_topk, num_classes=num_classes)
        self.task_aligned = TaskAlignedAssigner(topk=tal_topk, alpha=tal_alpha, beta=tal_beta, num_classes=num_classes)
        self.vfl = VarifocalLoss(loss_weight=vfl_weight)
        self.giou = GIoULoss(loss_weight=giou_weight)
        self.dfl = DistributionFocalLoss(loss_weight=dfl_weight)

    def assign(self, outputs, gt_bbox, gt_class, pad_gt_mask, epoch):
        """(labels [B, N] int32, boxes [B, N, 4] pixels, scores [B, N, C]) of the epoch's assigner."""
        anchors = outputs["anchors"]
        pred_pixels = outputs["pred_bboxes"].detach() * outputs["stride_tensor"]
        if epoch < self.static_assigner_epoch:
            num_anchors_list = [int(n) for n in np.asarray(outputs["num_anchors_list"]).ravel()]
            return self.atss(anchors, num_anchors_list, gt_class, gt_bbox, pad_gt_mask, pred_bboxes=pred_pixels)
        return self.task_aligned(outputs["pred_scores"].detach(), pred_pixels, _anchor_points(outputs),
                                 gt_class, gt_bbox, pad_gt_mask)

    def __call__(self, outputs, gt_bbox, gt_class, pad_gt_mask, epoch, ignore_bbox=None):
        labels, assigned_bboxes, assigned_scores = self.assign(outputs, gt_bbox, gt_class, pad_gt_mask, epoch)
        anchor_points = _anchor_points(outputs)
        class_weight = None
        if ignore_bbox is not None and ignore_bbox.shape[1] > 0:
            ignored = points_inside_boxes(anchor_points, ignore_bbox).max(axis=1)  # [B, N]; padding is never inside
            labels = paddle.where(ignored > 0, paddle.full_like(labels, self.num_classes), labels)
            assigned_scores = assigned_scores * (1 - ignored).unsqueeze(-1)
            class_weight = (1 - ignored).unsqueeze(-1)

        stride = outputs["stride_tensor"]
        normalizer = _normalizer(assigned_scores)
        loss_vfl = self.vfl(outputs["pred_scores"], assigned_scores, class_weight) / normalizer
        positive = paddle.nonzero((labels < self.num_classes).flatten()).squeeze(-1)
        if positive.shape[0] > 0:
            batch_size = labels.shape[0]
            loss_bbox, loss_dfl = self._box_losses(
                positive,
                pred_bboxes=outputs["pred_bboxes"].reshape([-1, 4]),
                pred_regs=outputs["pred_regs"].reshape([-1, 4 * (self.reg_max + 1)]),
                target_bboxes=(assigned_bboxes / stride).reshape([-1, 4]),
                points=(anchor_points / stride).tile([batch_size, 1]),
                weight=assigned_scores.max(axis=-1).flatten())
            loss_bbox, loss_dfl = loss_bbox / normalizer, loss_dfl / normalizer
        else:
            # zero, yet still a function of the box outputs (unused parameters upset data-parallel training)
            loss_bbox = loss_dfl = outputs["pred_regs"].sum() * 0.0
        return {"loss": loss_vfl + loss_bbox + loss_dfl, "loss_vfl": loss_vfl, "loss_bbox": loss_bbox,
                "loss_dfl": loss_dfl}

    def _box_losses(self, positive, pred_bboxes, pred_regs, target_bboxes, points, weight):
        """GIoU and DFL sums over the ``positive`` rows; all boxes and points in stride units."""
        target_bboxes = paddle.gather(target_bboxes, positive)
        weight = paddle.gather(weight, positive).detach()
        loss_bbox = self.giou(paddle.gather(pred_bboxes, positive), target_bboxes, weight)
        target_distances = box_to_distance(paddle.gather(points, positive), target_bboxes, self.reg_max)
        loss_dfl = self.dfl(paddle.gather(pred_regs, positive).reshape([-1, self.reg_max + 1]),
                            target_distances.flatten(), weight.unsqueeze(-1).tile([1, 4]).flatten()) / 4.0
        return loss_bbox, loss_dfl


def _anchor_points(outputs):
    """Anchor points [N, 2] pixels: given, or the centres of the anchor boxes."""
    points = outputs.get("anchor_points")
    return box_centers(outputs["anchors"]) if points is None else points

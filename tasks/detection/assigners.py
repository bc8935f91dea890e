"""PicoDet's label assignment: ATSS for the first epochs, then TaskAligned (PaddleDetection's rules).

Both take padded ground truth (``gt_labels`` [B, n, 1] int, ``gt_bboxes`` [B, n, 4]
x1y1x2y2 pixels, ``pad_gt_mask`` [B, n, 1] float, 1 = real box) and return, per anchor,
``labels`` [B, L] int32 (``num_classes`` = background), ``bboxes`` [B, L, 4] (the
ground-truth box of the anchor's gt; a background anchor carries its image's first gt
box, which no loss reads) and ``scores`` [B, L, num_classes] (the soft target:
zero on background, IoU-like on the anchor's class).

Ties are broken by ``paddle.topk`` and ``argmax`` exactly as PaddleDetection does, so
the assignments equal its own (tests/test_detection_assigners.py).
"""
import paddle
import paddle.nn.functional as F

from tasks.detection.boxes import box_centers, iou_matrix, points_inside_boxes


def _background(batch_size, num_anchors, num_classes):
    return (paddle.full([batch_size, num_anchors], num_classes, dtype="int32"),
            paddle.zeros([batch_size, num_anchors, 4]),
            paddle.zeros([batch_size, num_anchors, num_classes]))


def _mark(shape_like, indices):
    """[B, n, L] float mask with 1 at ``indices`` [B, n, k] along the last axis."""
    return paddle.put_along_axis(paddle.zeros_like(shape_like), indices, 1.0, axis=-1)


def _keep_highest_iou_gt(mask_positive, ious):
    """An anchor positive for several gts keeps only the gt (of all, as PaddleDetection) it overlaps most."""
    positives_per_anchor = mask_positive.sum(axis=1, keepdim=True)  # [B, 1, L]
    if positives_per_anchor.max() <= 1:
        return mask_positive
    best_gt = F.one_hot(ious.argmax(axis=1), ious.shape[1]).transpose([0, 2, 1]).astype(mask_positive.dtype)
    return paddle.where(positives_per_anchor > 1, best_gt, mask_positive)


def _targets(mask_positive, gt_labels, gt_bboxes, num_classes):
    """Labels [B, L] int32, boxes [B, L, 4] and the one-hot class rows [B, L, C] of the positive anchors."""
    batch_size, num_gts, num_anchors = mask_positive.shape
    gt_index = mask_positive.argmax(axis=1)  # [B, L]; 0 for background anchors
    flat_index = (gt_index + paddle.arange(batch_size, dtype=gt_index.dtype).unsqueeze(-1) * num_gts).flatten()
    labels = paddle.gather(gt_labels.flatten().astype("int32"), flat_index).reshape([batch_size, num_anchors])
    labels = paddle.where(mask_positive.sum(axis=1) > 0, labels, paddle.full_like(labels, num_classes))
    bboxes = paddle.gather(gt_bboxes.reshape([-1, 4]), flat_index).reshape([batch_size, num_anchors, 4])
    one_hot = F.one_hot(labels, num_classes + 1)[..., :num_classes]
    return labels, bboxes, one_hot


class ATSSAssigner:
    """Adaptive Training Sample Selection (https://arxiv.org/abs/1912.02424) on grid-cell anchor boxes.

    Per ground-truth box: the ``topk`` anchors of each level whose centres are closest to
    its centre are candidates; candidates whose IoU with it exceeds mean + std (unbiased)
    of the candidates' IoUs, and whose centre lies inside it, are positive. With
    ``pred_bboxes`` the soft target is the IoU of the prediction with the assigned box.
    """

    def __init__(self, topk=9, num_classes=1):
        self.topk = topk
        self.num_classes = num_classes

    @paddle.no_grad()
    def __call__(self, anchor_bboxes, num_anchors_list, gt_labels, gt_bboxes, pad_gt_mask, pred_bboxes=None):
        """anchor_bboxes [L, 4] pixels, num_anchors_list [anchors per level], pred_bboxes [B, L, 4] pixels."""
        batch_size, num_gts = gt_bboxes.shape[:2]
        num_anchors = anchor_bboxes.shape[0]
        if num_gts == 0:
            return _background(batch_size, num_anchors, self.num_classes)

        ious = iou_matrix(gt_bboxes, anchor_bboxes)  # [B, n, L]
        anchor_centers = box_centers(anchor_bboxes)
        distances = (box_centers(gt_bboxes).unsqueeze(2) - anchor_centers).norm(2, axis=-1)  # [B, n, L]

        candidate_index, start = [], 0
        for count in num_anchors_list:
            _, nearest = paddle.topk(distances[..., start:start + count], min(self.topk, count), axis=-1, largest=False)
            candidate_index.append(nearest + start)
            start += count
        candidate_index = paddle.concat(candidate_index, axis=-1)  # [B, n, K]
        is_candidate = _mark(ious, candidate_index) * pad_gt_mask

        candidate_ious = paddle.take_along_axis(ious * is_candidate, candidate_index, axis=-1)
        threshold = candidate_ious.mean(axis=-1, keepdim=True) + candidate_ious.std(axis=-1, keepdim=True)
        above_threshold = (ious * is_candidate > threshold).astype("float32")

        mask_positive = is_candidate * above_threshold * points_inside_boxes(anchor_centers, gt_bboxes) * pad_gt_mask
        mask_positive = _keep_highest_iou_gt(mask_positive, ious)
        labels, bboxes, scores = _targets(mask_positive, gt_labels, gt_bboxes, self.num_classes)
        if pred_bboxes is not None:
            pred_ious = (iou_matrix(gt_bboxes, pred_bboxes) * mask_positive).max(axis=1).unsqueeze(-1)
            scores = scores * pred_ious
        return labels, bboxes, scores


class TaskAlignedAssigner:
    """TOOD's task-aligned assignment (https://arxiv.org/abs/2108.07755) on the predictions.

    Alignment metric of an anchor with a gt: score(gt class)^alpha * IoU(prediction, gt)^beta.
    Per gt, the ``topk`` anchors of highest metric among those whose point lies inside it
    are positive. Soft target: the metric rescaled so that each gt's best anchor gets that
    anchor's IoU.
    """

    def __init__(self, topk=13, alpha=1.0, beta=6.0, num_classes=1, eps=1e-9):
        self.topk = topk
        self.alpha = alpha
        self.beta = beta
        self.num_classes = num_classes
        self.eps = eps

    @paddle.no_grad()
    def __call__(self, pred_scores, pred_bboxes, anchor_points, gt_labels, gt_bboxes, pad_gt_mask):
        """pred_scores [B, L, C] probabilities, pred_bboxes [B, L, 4] pixels, anchor_points [L, 2] pixels."""
        batch_size, num_anchors, _ = pred_scores.shape
        num_gts = gt_bboxes.shape[1]
        if num_gts == 0:
            return _background(batch_size, num_anchors, self.num_classes)

        ious = iou_matrix(gt_bboxes, pred_bboxes)  # [B, n, L]
        class_index = gt_labels.astype("int64").expand([batch_size, num_gts, num_anchors])
        gt_class_scores = paddle.take_along_axis(pred_scores.transpose([0, 2, 1]), class_index, axis=1)
        alignment = gt_class_scores.pow(self.alpha) * ious.pow(self.beta)

        is_inside = points_inside_boxes(anchor_points, gt_bboxes)
        _, best = paddle.topk(alignment * is_inside, min(self.topk, num_anchors), axis=-1)
        mask_positive = _mark(ious, best) * is_inside * pad_gt_mask
        mask_positive = _keep_highest_iou_gt(mask_positive, ious)
        labels, bboxes, scores = _targets(mask_positive, gt_labels, gt_bboxes, self.num_classes)

        alignment = alignment * mask_positive
        best_metric = alignment.max(axis=-1, keepdim=True)
        best_iou = (ious * mask_positive).max(axis=-1, keepdim=True)
        soft_target = (alignment / (best_metric + self.eps) * best_iou).max(axis=1).unsqueeze(-1)
        return labels, bboxes, scores * soft_target

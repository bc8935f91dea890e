"""Box geometry on Paddle tensors, x1y1x2y2 boxes (PaddleDetection's `bbox_utils` formulas).

Every function broadcasts over leading dimensions, so one IoU serves the ATSS
assigner (ground truth vs anchors) and the TaskAligned one (ground truth vs
predictions, batched).
"""
import paddle


def box_centers(boxes):
    """[..., 4] x1y1x2y2 -> [..., 2] (cx, cy)."""
    return (boxes[..., :2] + boxes[..., 2:]) * 0.5


def iou_matrix(boxes1, boxes2, eps=1e-9):
    """IoU of every box of ``boxes1`` [..., M, 4] with every box of ``boxes2`` [..., N, 4] -> [..., M, N].

    Boxes with x2 < x1 or y2 < y1 have zero area (zero-padded ground truth gives IoU 0).
    """
    a = boxes1.unsqueeze(-2)  # [..., M, 1, 4]
    b = boxes2.unsqueeze(-3)  # [..., 1, N, 4]
    top_left = paddle.maximum(a[..., :2], b[..., :2])
    bottom_right = paddle.minimum(a[..., 2:], b[..., 2:])
    overlap = (bottom_right - top_left).clip(min=0).prod(-1)
    area_a = (a[..., 2:] - a[..., :2]).clip(min=0).prod(-1)
    area_b = (b[..., 2:] - b[..., :2]).clip(min=0).prod(-1)
    return overlap / (area_a + area_b - overlap + eps)


def generalized_iou(pred, target, eps=1e-10):
    """Element-wise GIoU of ``pred`` and ``target`` [..., 4] -> [...] (https://arxiv.org/abs/1902.09630)."""
    top_left = paddle.maximum(pred[..., :2], target[..., :2])
    bottom_right = paddle.minimum(pred[..., 2:], target[..., 2:])
    overlap = (bottom_right - top_left).clip(min=0).prod(-1)
    # areas are not clipped here: a prediction is decoded from non-negative distances
    union = (pred[..., 2:] - pred[..., :2]).prod(-1) + (target[..., 2:] - target[..., :2]).prod(-1) - overlap + eps
    enclosing = (paddle.maximum(pred[..., 2:], target[..., 2:])
                 - paddle.minimum(pred[..., :2], target[..., :2])).prod(-1) + eps
    return overlap / union - (enclosing - union) / enclosing


def distance_to_box(points, distances):
    """Points [..., 2] (x, y) and distances [..., 4] (left, top, right, bottom) -> boxes [..., 4] x1y1x2y2."""
    # one split, not two slices: the exported detector graph is built from this
    left_top, right_bottom = paddle.split(distances, 2, axis=-1)
    return paddle.concat([points - left_top, points + right_bottom], axis=-1)


def box_to_distance(points, boxes, max_distance=None, eps=0.1):
    """Inverse of ``distance_to_box``: [..., 4] (left, top, right, bottom) of ``boxes`` seen from ``points``.

    With ``max_distance`` (the DFL target, ``reg_max``), distances are clipped to
    [0, max_distance - eps] so the target always falls between two bins.
    """
    distances = paddle.concat([points - boxes[..., :2], boxes[..., 2:] - points], axis=-1)
    if max_distance is not None:
        distances = distances.clip(min=0, max=max_distance - eps)
    return distances


def points_inside_boxes(points, boxes, eps=1e-9):
    """Whether each point [L, 2] lies strictly inside each box [B, n, 4] -> [B, n, L] float32 (1 inside)."""
    points = points.unsqueeze([0, 1])  # [1, 1, L, 2]
    boxes = boxes.unsqueeze(2)  # [B, n, 1, 4]
    margins = paddle.concat([points - boxes[..., :2], boxes[..., 2:] - points], axis=-1)
    return (margins.min(axis=-1) > eps).astype("float32")

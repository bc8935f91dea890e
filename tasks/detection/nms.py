"""Multi-class NMS in numpy, with the rules of Paddle's ``multiclass_nms3`` (PicoDet's ``MultiClassNMS``).

Per class: boxes scoring above ``score_threshold`` are sorted by score (stable, so equal
scores keep box order), the first ``nms_top_k`` are kept, then greedily each box is kept
unless its IoU with an already kept box of the class exceeds ``nms_threshold``. Over all
classes the ``keep_top_k`` best survive. Rows come out by class, then by falling score.
IoU uses no +1 on widths (Paddle's ``normalized=True``, the ``MultiClassNMS`` default);
boxes that do not touch have IoU 0.
"""
import numpy as np


def pairwise_iou(boxes_a, boxes_b):
    """IoU matrix [M, N] of x1y1x2y2 boxes [M, 4] and [N, 4]; a zero union (two empty boxes) gives 0."""
    # outer ufuncs, each [M, N] step written in place: the matrix of 177 NMS candidates in 0.13 ms
    # (0.22 ms with a new array per step, 10x that with [M, N, 2] arrays)
    x1a, y1a, x2a, y2a = np.asarray(boxes_a).T
    x1b, y1b, x2b, y2b = np.asarray(boxes_b).T
    overlap = np.minimum.outer(x2a, x2b)
    overlap -= np.maximum.outer(x1a, x1b)
    np.maximum(overlap, 0, out=overlap)
    heights = np.minimum.outer(y2a, y2b)
    heights -= np.maximum.outer(y1a, y1b)
    np.maximum(heights, 0, out=heights)
    overlap *= heights
    area_a = np.maximum(x2a - x1a, 0) * np.maximum(y2a - y1a, 0)
    area_b = np.maximum(x2b - x1b, 0) * np.maximum(y2b - y1b, 0)
    union = np.add.outer(area_a, area_b)
    union -= overlap
    return np.divide(overlap, union, out=overlap, where=union > 0)


def _nms_one_class(boxes, scores, score_threshold, nms_threshold, nms_top_k):
    """Indices of the kept boxes of one class, by falling score."""
    candidates = np.flatnonzero(scores > score_threshold)
    candidates = candidates[np.argsort(-scores[candidates], kind="stable")]
    if nms_top_k > -1:
        candidates = candidates[:nms_top_k]
    # every IoU at once, then the greedy pass: one vector op per candidate, not an IoU each
    overlaps = pairwise_iou(boxes[candidates], boxes[candidates]) > nms_threshold
    suppressed = np.zeros(candidates.size, dtype=bool)
    kept = []
    for i in range(candidates.size):
        if not suppressed[i]:
            kept.append(i)
            suppressed |= overlaps[i]
    return candidates[np.asarray(kept, dtype=np.int64)]


def multiclass_nms(boxes, scores, score_threshold=0.025, nms_threshold=0.6, nms_top_k=1000, keep_top_k=100):
    """Detections of one image.

    boxes [N, 4] x1y1x2y2; scores [C, N]. ``nms_top_k`` / ``keep_top_k`` of -1 mean no limit.
    Returns [K, 6] float32 rows (class, score, x1, y1, x2, y2), K = 0 when nothing passes.
    """
    boxes = np.asarray(boxes, dtype=np.float32)
    scores = np.asarray(scores, dtype=np.float32)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or scores.ndim != 2 or scores.shape[1] != boxes.shape[0]:
        raise ValueError(f"multiclass_nms: boxes must be [N, 4] and scores [C, N], "
                         f"got {boxes.shape} and {scores.shape}")
    labels, indices = [], []
    for label, class_scores in enumerate(scores):
        kept = _nms_one_class(boxes, class_scores, score_threshold, nms_threshold, nms_top_k)
        labels.append(np.full(kept.size, label, dtype=np.int64))
        indices.append(kept)
    labels = np.concatenate(labels) if labels else np.zeros(0, dtype=np.int64)
    indices = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64)
    kept_scores = scores[labels, indices]
    if -1 < keep_top_k < labels.size:
        best = np.sort(np.argsort(-kept_scores, kind="stable")[:keep_top_k])  # back to class, score order
        labels, indices, kept_scores = labels[best], indices[best], kept_scores[best]
    return np.concatenate([labels[:, None].astype(np.float32), kept_scores[:, None], boxes[indices]],
                          axis=1).astype(np.float32)

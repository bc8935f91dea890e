"""The inputs and outputs of the two forms of a detector export (``tasks.export.detector_graph``).

With NMS in the graph: inputs ``NMS_INPUTS``, outputs ``NMS_OUTPUTS``, NMS numbers ``NMS_KEYS``.
Without: input ``DECODED_INPUTS``, outputs ``DECODED_OUTPUTS``, told apart by their shapes.

PaddleDetection's export without NMS (PicoHeadV2 ``post_process`` with ``export_nms``
false) returns ``(pred_bboxes, pred_scores)``: boxes [B, N, 4] x1y1x2y2 in network-input
pixels, then scores [B, C, N]. This project's exports since issue 24 use the same order
(``DECODED_OUTPUTS``); its earlier ones gave (scores, boxes). Readers call
``boxes_and_scores`` and take either order, so both kinds of folder keep working.
"""
import numpy as np

NMS_INPUTS = ("image", "scale_factor")
NMS_OUTPUTS = ("bbox", "bbox_num")
DECODED_INPUTS = ("image",)
NMS_KEYS = ("score_threshold", "nms_threshold", "nms_top_k", "keep_top_k")
DECODED_OUTPUTS = ("boxes", "scores")


def decoded_indices(outputs, where="detector"):
    """(index of the boxes, index of the scores) in a two-output detector's ``outputs``, either
    order: boxes [B, N, 4], scores [B, C, N]. ValueError naming ``where`` and the shapes otherwise."""
    shapes = [np.shape(o) for o in outputs]
    if len(shapes) == 2:
        for b, s in ((0, 1), (1, 0)):
            boxes, scores = shapes[b], shapes[s]
            if (len(boxes) == 3 and len(scores) == 3 and boxes[2] == 4 and boxes[0] == scores[0]
                    and boxes[1] == scores[2]):
                return b, s
    raise ValueError(f"{where}: outputs of shapes {[list(s) for s in shapes]}; expected boxes [B, N, 4] and "
                     "scores [B, C, N] (a detector exported without NMS)")


def boxes_and_scores(outputs, where="detector"):
    """(boxes [B, N, 4], scores [B, C, N]) of a two-output detector in either order (``decoded_indices``)."""
    b, s = decoded_indices(outputs, where)
    return outputs[b], outputs[s]

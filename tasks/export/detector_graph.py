"""What an exported detector computes after the network: the two forms of a PicoDet export.

    with NMS (PaddleDetection's default export):
        inputs  image [B, 3, H, W], scale_factor [B, 2] (y, x: network input / original image)
        outputs bbox [K, 6] (class, score, x1, y1, x2, y2 in original-image pixels), rows of
                image 0 first; bbox_num [B] int32 (rows per image)
    without NMS (``DetectorWithoutNMS``):
        inputs  image
        outputs boxes [B, N, 4] (x1y1x2y2 in network-input pixels, not clipped), scores [B, C, N]:
                PaddleDetection's order (PicoHeadV2 ``post_process`` without ``export_nms``);
                NMS is ``tasks.detection.nms.multiclass_nms`` in the caller

The NMS is Paddle's ``multiclass_nms3`` operator with the config's numbers, the operator
PaddleDetection's ``MultiClassNMS`` appends: Paddle Inference (both programs), Paddle-Lite
(x86 and ARM: a host kernel) and paddle2onnx (batch 1 only) run it.
"""
import paddle
from paddle import _C_ops
from paddle.framework import LayerHelper, in_dynamic_or_pir_mode

from tasks.export.layout.detector_io import NMS_KEYS

# What two runtimes may differ by, per output. Boxes are pixels, the mean of a softmax over bin
# logits times the stride (64 px at the coarsest level): oneDNN vs dygraph moved boxes by
# 1.5e-3 px at 192 with moderate logits, so a hundredth of a pixel. Scores are
# sqrt(sigmoid * sigmoid): near 0 the square root amplifies float32 differences (a trained
# sample model: onnxruntime vs oneDNN 1.7e-4), so 1e-3.
BOX_TOL, SCORE_TOL = 1e-2, 1e-3


def output_tolerances(with_nms):
    """Per-output tolerances of a detector export: (bbox rows, bbox_num) or (boxes, scores)."""
    return [BOX_TOL, 0.0] if with_nms else [BOX_TOL, SCORE_TOL]


def graph_multiclass_nms(boxes, scores, score_threshold, nms_threshold, nms_top_k, keep_top_k):
    """Paddle's multiclass_nms3 on boxes [B, N, 4] and scores [B, C, N] -> (rows [K, 6], rows per image [B]).

    IoU without +1 on widths (normalized), no background class (PaddleDetection's
    ``background_label: -1``: class 0 is the person). Appends the legacy operator while a
    legacy program is being built, where ``_C_ops`` takes only PIR values."""
    attrs = {"score_threshold": float(score_threshold), "nms_top_k": int(nms_top_k),
             "keep_top_k": int(keep_top_k), "nms_threshold": float(nms_threshold),
             "normalized": True, "nms_eta": 1.0, "background_label": -1}
    if in_dynamic_or_pir_mode():
        rows, _, rows_per_image = _C_ops.multiclass_nms3(
            boxes, scores, None, attrs["score_threshold"], attrs["nms_top_k"], attrs["keep_top_k"],
            attrs["nms_threshold"], attrs["normalized"], attrs["nms_eta"], attrs["background_label"])
        return rows, rows_per_image
    helper = LayerHelper("multiclass_nms3")
    rows = helper.create_variable_for_type_inference(dtype=boxes.dtype)
    index = helper.create_variable_for_type_inference(dtype="int32")
    rows_per_image = helper.create_variable_for_type_inference(dtype="int32")
    helper.append_op(type="multiclass_nms3", inputs={"BBoxes": [boxes], "Scores": [scores]},
                     outputs={"Out": [rows], "Index": [index], "NmsRoisNum": [rows_per_image]}, attrs=attrs)
    return rows, rows_per_image


class DetectorWithNMS(paddle.nn.Layer):
    """A decoding detector (eval forward -> scores [B, C, N], boxes [B, N, 4] input pixels) with
    boxes mapped to the original image and multiclass NMS: forward(image, scale_factor) ->
    (bbox [K, 6], bbox_num [B]). ``nms``: the config's ``nms`` mapping (``NMS_KEYS``)."""

    def __init__(self, model, nms):
        super().__init__()
        missing = [key for key in NMS_KEYS if key not in nms]
        if missing:
            raise ValueError(f"DetectorWithNMS: the nms settings lack {missing} (got {dict(nms)})")
        self.model = model
        self.nms = {key: nms[key] for key in NMS_KEYS}

    def forward(self, image, scale_factor):
        scores, boxes = self.model(image)
        scale_y, scale_x = paddle.split(scale_factor, 2, axis=-1)
        per_side = paddle.concat([scale_x, scale_y, scale_x, scale_y], axis=-1).reshape([-1, 1, 4])
        return graph_multiclass_nms(boxes / per_side, scores, **self.nms)


class DetectorWithoutNMS(paddle.nn.Layer):
    """A decoding detector with its outputs in PaddleDetection's order for an export without NMS:
    forward(image) -> (boxes [B, N, 4] input pixels, scores [B, C, N]); the model itself (training,
    evaluation) returns (scores, boxes)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, image):
        scores, boxes = self.model(image)
        return boxes, scores

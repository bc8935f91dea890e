"""PaddleDetection's PicoHeadV2 loss oracle (tests/data/reference/picodet_loss_<model>.npz) as loss inputs."""
import json

import paddle

from reference import load_npz

LOSS_MODELS = ["picodet_s_192_lcnet_pedestrian", "picodet_s_320_lcnet_pedestrian"]
STAGE_EPOCHS = {"atss": 0, "tal": 100}  # epoch 0 < static_assigner_epoch 100: ATSS; from 100: TaskAligned


def loss_case(model):
    """(reference npz, meta dict, outputs dict as model.forward_train gives it, targets dict of tensors)."""
    reference = load_npz(f"picodet_loss_{model}")
    meta = json.loads(bytes(reference["meta_json"]).decode())
    outputs = {key: paddle.to_tensor(reference[key], stop_gradient=False)
               for key in ("pred_scores", "pred_regs", "pred_bboxes")}
    outputs.update({key: paddle.to_tensor(reference[key]) for key in ("anchors", "stride_tensor")})
    outputs["num_anchors_list"] = [int(n) for n in reference["num_anchors_list"]]
    targets = {key: paddle.to_tensor(reference[key]) for key in ("gt_bbox", "gt_class", "pad_gt_mask")}
    return reference, meta, outputs, targets

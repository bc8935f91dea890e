"""PicoDet-S pedestrian: LCNet x0.75 -> LCPAN (96 channels, 4 levels) -> PicoHeadV2 (reg_max 7).

PaddleDetection's `picodet_s_{192,320}_lcnet_pedestrian` network; parameter names,
shapes and state_dict order equal its own (aliases included), so its `.pdparams`
load through `tasks.common.weights.load_state`. Both input sizes use the same network.

    model = PicoDet()                      # num_classes=1
    scores, boxes = model(images)          # eval mode: [B, C, N], [B, N, 4] (input pixels)
    outputs = model.forward_train(images)  # dict for the loss (any BN mode)

`images` is [B, 3, H, W] float32, normalized (ImageNet mean/std), H and W multiples
of 32. Boxes are in the pixels of this input: mapping them back to the original
image (PaddleDetection's `scale_factor`) is the caller's job, as is NMS.
"""
import paddle.nn as nn

from tasks.common.upsample import require_size_multiple
from tasks.detection.lc_pan import LCPAN
from tasks.detection.lcnet import LCNet
from tasks.detection.pico_head import PicoHeadV2

SIZE_DIVISOR = 32  # the neck joins maps of strides 8..32 by exact 2x resampling


class PicoDet(nn.Layer):
    """Detector network without post-processing beyond box decoding.

    num_levels: neck/head levels; the backbone's feature maps (strides 2**k for k in
    `feature_maps`) plus, if one more, an extra level at twice the last stride.
    export_post_process: what eval-mode `forward` returns (see `forward`).
    """

    def __init__(self, num_classes=1, scale=0.75, feature_maps=(3, 4, 5), neck_channels=96, num_levels=4,
                 reg_max=7, cell_offset=0.5, grid_cell_scale=5.0, export_post_process=True):
        super().__init__()
        self.backbone = LCNet(scale, feature_maps)
        self.neck = LCPAN(self.backbone.out_channels, neck_channels, num_features=num_levels)
        last = max(feature_maps)
        strides = [2 ** k for k in sorted(feature_maps)] + [2 ** (last + 1)] * (num_levels - len(feature_maps))
        self.head = PicoHeadV2(num_classes, neck_channels, strides, reg_max,
                               cell_offset=cell_offset, grid_cell_scale=grid_cell_scale)
        self.export_post_process = export_post_process

    @property
    def strides(self):
        return self.head.strides

    def features(self, images):
        """Neck outputs, one [B, neck_channels, H/s, W/s] map per stride."""
        require_size_multiple(images, SIZE_DIVISOR, "PicoDet")
        return self.neck(self.backbone(images))

    def forward(self, images):
        """Training mode: `forward_train(images)`. Eval mode: with `export_post_process`,
        (scores [B, C, N], boxes [B, N, 4] x1y1x2y2 input pixels, not clipped), anchors of
        all levels concatenated finest first, row-major; without it, the raw per-level
        ([scores [B, h*w, C]], [bin logits [B, h*w, 4*(reg_max+1)]]) of PaddleDetection's
        export without post-processing."""
        if self.training:
            return self.forward_train(images)
        return self.head.forward_eval(self.features(images), self.export_post_process)

    def forward_train(self, images):
        """The loss inputs, in either BN mode: dict with pred_scores, pred_regs, pred_bboxes,
        anchors, anchor_points, stride_tensor, num_anchors_list (`PicoHeadV2.forward_train`)."""
        return self.head.forward_train(self.features(images))

    def level_outputs(self, images):
        """Raw head outputs per level: [{"cls_logit", "align_logit", "cls_score", "reg_dist"}] (NCHW)."""
        return self.head.forward_levels(self.features(images))

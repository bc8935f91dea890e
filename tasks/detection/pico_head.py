"""PicoHeadV2 (PaddleDetection's `ppdet/modeling/heads/pico_head.py`) as PicoDet-S configures it:
PicoFeat with cls/reg sharing one feature and SE, the task-alignment branch (`use_align_head`),
GFL distribution regression (`reg_max`), no NMS.

Per level i (stride s, map h x w):
    conv_cls_feat = PicoFeat tower (num_convs x [5x5 depthwise + BN + hard-swish, 1x1 + BN + hard-swish])
    se_feat       = hard-swish(PicoSE(conv_cls_feat))
    cls_logit     = head_cls_list[i](se_feat)                 [B, C, h, w]
    reg_dist      = head_reg_list[i](se_feat)                 [B, 4 * (reg_max + 1), h, w] (l, t, r, b bins)
    align_logit   = cls_align[i](conv_cls_feat)               [B, 1, h, w]
    cls_score     = sqrt(sigmoid(cls_logit) * sigmoid(align_logit) + 1e-9)
A side's distance (in strides) is the expectation of softmax(bins) over 0..reg_max.

Parameter names, shapes and state_dict order equal PaddleDetection's, including
its quirks: each head_cls/head_reg conv is registered twice (`head_cls_list.i` and
`head_cls{i}`), and GFLHead's `p{k}_feat.scale_reg` scalars exist but are not used.
"""
import math

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle import ParamAttr
from paddle.nn.initializer import Constant, Normal
from paddle.regularizer import L2Decay

from tasks.detection.anchors import grid_cell_boxes, grid_points
from tasks.detection.boxes import distance_to_box
from tasks.detection.lc_pan import DPModule
from tasks.detection.legacy_ops import matmul, sigmoid, sqrt

SCORE_EPS = 1e-9  # inside the sqrt of cls_score, as PaddleDetection


class ConvNorm(nn.Layer):
    """Conv (no bias, N(0, 0.01) weights) + BatchNorm without weight decay; PaddleDetection's ConvNormLayer."""

    def __init__(self, in_channels, out_channels, kernel_size, groups=1):
        super().__init__()
        self.conv = nn.Conv2D(in_channels, out_channels, kernel_size, padding=(kernel_size - 1) // 2,
                              groups=groups, weight_attr=ParamAttr(initializer=Normal(0.0, 0.01)),
                              bias_attr=False)
        no_decay = ParamAttr(regularizer=L2Decay(0.0))
        self.norm = nn.BatchNorm2D(out_channels, weight_attr=no_decay, bias_attr=no_decay)

    def forward(self, x):
        return self.norm(self.conv(x))


class PicoSE(nn.Layer):
    """conv(feat * sigmoid(fc(mean over h, w of feat)))."""

    def __init__(self, channels):
        super().__init__()
        self.fc = nn.Conv2D(channels, channels, 1, weight_attr=ParamAttr(initializer=Normal(0.0, 0.001)))
        self.conv = ConvNorm(channels, channels, 1)

    def forward(self, feat):
        weight = sigmoid(self.fc(F.adaptive_avg_pool2d(feat, 1)))
        return self.conv(feat * weight)


class PicoFeat(nn.Layer):
    """Per-level conv tower; forward(x, level) -> (conv_cls_feat, se_feat) (shared cls/reg, SE)."""

    def __init__(self, in_channels=96, feat_channels=96, num_levels=4, num_convs=2, kernel_size=5):
        super().__init__()
        self.se = nn.LayerList()
        self.towers = []  # per level: [dw, pw] * num_convs, registered under PaddleDetection's names
        for level in range(num_levels):
            tower = []
            for i in range(num_convs):
                c_in = in_channels if i == 0 else feat_channels
                tower.append(self.add_sublayer(f"cls_conv_dw{level}.{i}",
                                               ConvNorm(c_in, feat_channels, kernel_size, groups=feat_channels)))
                tower.append(self.add_sublayer(f"cls_conv_pw{level}.{i}", ConvNorm(c_in, feat_channels, 1)))
            self.towers.append(tower)
            self.se.append(PicoSE(feat_channels))

    def forward(self, x, level):
        for conv in self.towers[level]:
            x = F.hardswish(conv(x))
        return x, F.hardswish(self.se[level](x))


class ScaleReg(nn.Layer):
    """GFLHead's per-level regression scale. PicoHeadV2 never uses it; it exists so that
    PaddleDetection's weights (which hold it) load by name."""

    def __init__(self):
        super().__init__()
        self.scale_reg = self.create_parameter([1], attr=ParamAttr(initializer=Constant(1.0)), dtype="float32")


class Integral(nn.Layer):
    """[..., 4 * (reg_max + 1)] bin logits -> [..., 4] distances: sum_k softmax(bins)_k * k."""

    def __init__(self, reg_max):
        super().__init__()
        self.reg_max = reg_max
        self.register_buffer("project", paddle.linspace(0, reg_max, reg_max + 1, dtype="float32"))

    def forward(self, reg):
        bins = reg.reshape([0, 0, 4, self.reg_max + 1])  # 0: keep that dimension (batch, anchors)
        return self._expectation(bins).reshape([0, 0, 4])

    def _expectation(self, bins):
        """[..., reg_max + 1] bin logits -> [..., 1] expected bin. The product is with a [reg_max + 1, 1]
        column, not the 1-D ``project``: onnxruntime runs a product with a 1-D operand through a slow
        path (0.4-0.5 ms for PicoDet-S 192's 765 anchors; the whole network 6.47 -> 5.98 ms on one
        thread, 5.19 -> 4.97 ms on two)."""
        return matmul(F.softmax(bins, axis=-1), self.project.reshape([-1, 1]))

    def channel_major(self, reg):
        """[B, 4 * (reg_max + 1), N] bin logits -> [B, N, 4]: ``forward`` with the bins along axis 1,
        as the head's convs give them, so the exported graph concatenates the levels before its
        one transpose of the logits instead of transposing each level."""
        # softmax over the last axis: Paddle-Lite x86's softmax over another axis gives NaN on
        # large logits
        bins = reg.reshape([0, 4, self.reg_max + 1, -1]).transpose([0, 1, 3, 2])  # [B, 4, N, reg_max + 1]
        return self._expectation(bins).reshape([0, 4, -1]).transpose([0, 2, 1])


class PicoHeadV2(nn.Layer):
    """PicoDet's head. `forward_levels` gives the raw per-level outputs; `forward_eval` and
    `forward_train` shape them for inference and for the loss (see their docstrings)."""

    def __init__(self, num_classes=1, in_channels=96, strides=(8, 16, 32, 64), reg_max=7, num_convs=2,
                 prior_prob=0.01, cell_offset=0.5, grid_cell_scale=5.0):
        super().__init__()
        self.num_classes = num_classes
        self.strides = tuple(strides)
        self.reg_max = reg_max
        self.cell_offset = cell_offset
        self.grid_cell_scale = grid_cell_scale
        self.conv_feat = PicoFeat(in_channels, in_channels, len(strides), num_convs)
        for stride in strides:
            self.add_sublayer(f"p{int(math.log2(stride))}_feat", ScaleReg())
        self.distribution_project = Integral(reg_max)
        cls_bias = -math.log((1 - prior_prob) / prior_prob)  # initial score = prior_prob
        self.head_cls_list = nn.LayerList([
            nn.Conv2D(in_channels, num_classes, 1, weight_attr=ParamAttr(initializer=Normal(0.0, 0.01)),
                      bias_attr=ParamAttr(initializer=Constant(cls_bias))) for _ in strides])
        self.head_reg_list = nn.LayerList([
            nn.Conv2D(in_channels, 4 * (reg_max + 1), 1, weight_attr=ParamAttr(initializer=Normal(0.0, 0.01)),
                      bias_attr=ParamAttr(initializer=Constant(0.0))) for _ in strides])
        self.cls_align = nn.LayerList([DPModule(in_channels, 1, 5, act_out=False) for _ in strides])
        # PaddleDetection registers each conv a second time; both names are in its state_dict
        for i in range(len(strides)):
            self.add_sublayer(f"head_cls{i}", self.head_cls_list[i])
            self.add_sublayer(f"head_reg{i}", self.head_reg_list[i])

    def forward_levels(self, feats):
        """Neck maps -> per level {"cls_logit", "align_logit", "cls_score", "reg_dist"} (NCHW, see module doc)."""
        if len(feats) != len(self.strides):
            raise ValueError(f"PicoHeadV2 has {len(self.strides)} levels, got {len(feats)} feature maps")
        levels = []
        for i, feat in enumerate(feats):
            conv_cls_feat, se_feat = self.conv_feat(feat, i)
            cls_logit = self.head_cls_list[i](se_feat)
            align_logit = self.cls_align[i](conv_cls_feat)
            levels.append({
                "cls_logit": cls_logit,
                "align_logit": align_logit,
                "cls_score": sqrt(sigmoid(cls_logit) * sigmoid(align_logit) + SCORE_EPS),
                "reg_dist": self.head_reg_list[i](se_feat),
            })
        return levels

    def grid(self, feats):
        """(cell_points [N,2] in stride units, stride_column [N,1], num_anchors_list) for these maps."""
        return grid_points([f.shape[2:] for f in feats], self.strides, self.cell_offset)

    def forward_eval(self, feats, export_post_process=True):
        """export_post_process: (scores [B, C, N], boxes [B, N, 4] x1y1x2y2 in input pixels, not clipped);
        else PaddleDetection's raw export layout: ([scores [B, h*w, C] per level], [bins [B, h*w, 4*(reg_max+1)]
        per level])."""
        levels = self.forward_levels(feats)
        if not export_post_process:
            return ([_anchor_major(lv["cls_score"]) for lv in levels],
                    [_anchor_major(lv["reg_dist"]) for lv in levels])
        cell_points, stride_column, _ = self.grid(feats)
        scores = paddle.concat([_flatten_cells(lv["cls_score"]) for lv in levels], axis=-1)
        distances = self.distribution_project.channel_major(
            paddle.concat([_flatten_cells(lv["reg_dist"]) for lv in levels], axis=-1))
        boxes = distance_to_box(cell_points, distances) * stride_column
        return scores, boxes

    def forward_train(self, feats):
        """What the loss consumes (N anchors over all levels, finest first):
        pred_scores [B, N, C] cls_score; pred_regs [B, N, 4*(reg_max+1)] bin logits;
        pred_bboxes [B, N, 4] x1y1x2y2 in units of each anchor's stride; anchors [N, 4] grid-cell boxes
        (pixels, side grid_cell_scale strides); anchor_points [N, 2] pixels; stride_tensor [N, 1];
        num_anchors_list [h*w per level] (ints)."""
        levels = self.forward_levels(feats)
        cell_points, stride_column, num_anchors_list = self.grid(feats)
        pixel_points = cell_points * stride_column
        pred_regs = paddle.concat([_anchor_major(lv["reg_dist"]) for lv in levels], axis=1)
        return {
            "pred_scores": paddle.concat([_anchor_major(lv["cls_score"]) for lv in levels], axis=1),
            "pred_regs": pred_regs,
            "pred_bboxes": distance_to_box(cell_points, self.distribution_project(pred_regs)),
            "anchors": grid_cell_boxes(pixel_points, stride_column, self.grid_cell_scale),
            "anchor_points": pixel_points,
            "stride_tensor": stride_column,
            "num_anchors_list": num_anchors_list,
        }


def _flatten_cells(x):
    """[B, K, h, w] -> [B, K, h*w]. A reshape, not `flatten`: Paddle-Lite's opt crashes on the
    flatten_contiguous_range op of a legacy export."""
    return x.reshape([0, x.shape[1], -1])  # 0: keep the batch size


def _anchor_major(x):
    """[B, K, h, w] -> [B, h*w, K]."""
    return _flatten_cells(x).transpose([0, 2, 1])

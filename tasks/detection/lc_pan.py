"""LCPAN neck (PaddleDetection's `ppdet/modeling/necks/lc_pan.py`): a PAN built from LCNet blocks.

Parameter names, shapes and state_dict order equal PaddleDetection's. With
`num_features=4` (PicoDet-S) the neck adds a fourth, stride-64 level:
first_top_conv(top input) + second_top_conv(last bottom-up output).

For inputs [N x C_i x H/s_i x W/s_i] (s = 8, 16, 32) `LCPAN.forward` returns
`num_features` maps of `out_channels` channels at strides 8, 16, 32 (, 64).

One difference in form, not in result: the top-down 2x nearest upsampling is
`tasks.common.upsample.upsample_nearest` (stacked copies) instead of
`nn.Upsample(scale_factor=2)`, whose interpolation op carries a float64 scale array
that paddle2onnx and oneDNN (on the PIR program) reject. The pixels are the same.
"""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle import ParamAttr
from paddle.nn.initializer import KaimingUniform

from tasks.common.upsample import upsample_nearest
from tasks.detection.lcnet import ConvBNLayer, DepthwiseSeparable


class DPModule(nn.Layer):
    """Depthwise k x k conv (groups = out_channels) + BN + hard-swish, then pointwise 1x1 conv + BN
    (+ hard-swish when `act_out`). PaddleDetection's csp_pan DPModule."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, act_out=True):
        super().__init__()
        self.dwconv = nn.Conv2D(in_channels, out_channels, kernel_size, stride=stride,
                                padding=(kernel_size - 1) // 2, groups=out_channels,
                                weight_attr=ParamAttr(initializer=KaimingUniform()), bias_attr=False)
        self.bn1 = nn.BatchNorm2D(out_channels)
        self.pwconv = nn.Conv2D(out_channels, out_channels, 1,
                                weight_attr=ParamAttr(initializer=KaimingUniform()), bias_attr=False)
        self.bn2 = nn.BatchNorm2D(out_channels)
        self.act_out = act_out

    def forward(self, x):
        x = F.hardswish(self.bn1(self.dwconv(x)))
        x = self.bn2(self.pwconv(x))
        return F.hardswish(x) if self.act_out else x


class ChannelTransform(nn.Layer):
    """One 1x1 conv + BN + hard-swish per input level, to a common channel count (PaddleDetection's Channel_T)."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.convs = nn.LayerList([
            ConvBNLayer(c, out_channels, 1, weight_init=KaimingUniform, bn_weight_decay=True)
            for c in in_channels])

    def forward(self, feats):
        return [conv(x) for conv, x in zip(self.convs, feats)]


def _lcnet_pair(channels, kernel_size):
    """Two LCNet depthwise-separable blocks: 2C -> 2C -> C, on a concatenation of two C-channel maps."""
    return nn.Sequential(DepthwiseSeparable(2 * channels, 2 * channels, 1, kernel_size=kernel_size),
                         DepthwiseSeparable(2 * channels, channels, 1, kernel_size=kernel_size))


class LCPAN(nn.Layer):
    """forward(list of backbone maps, strides 8, 16, 32) -> tuple of `num_features` maps."""

    def __init__(self, in_channels, out_channels=96, kernel_size=5, num_features=4):
        super().__init__()
        if num_features not in (len(in_channels), len(in_channels) + 1):
            raise ValueError(f"LCPAN: num_features must be {len(in_channels)} or {len(in_channels) + 1} "
                             f"(one extra downsampled level), got {num_features}")
        self.num_inputs = len(in_channels)
        self.out_channels = out_channels
        self.conv_t = ChannelTransform(in_channels, out_channels)
        if num_features > self.num_inputs:
            self.first_top_conv = DPModule(out_channels, out_channels, kernel_size, stride=2)
            self.second_top_conv = DPModule(out_channels, out_channels, kernel_size, stride=2)
        else:
            self.first_top_conv = self.second_top_conv = None
        levels = range(self.num_inputs - 1)
        self.top_down_blocks = nn.LayerList([_lcnet_pair(out_channels, kernel_size) for _ in levels])
        self.downsamples = nn.LayerList([DPModule(out_channels, out_channels, kernel_size, stride=2)
                                         for _ in levels])
        self.bottom_up_blocks = nn.LayerList([_lcnet_pair(out_channels, kernel_size) for _ in levels])

    def forward(self, feats):
        if len(feats) != self.num_inputs:
            raise ValueError(f"LCPAN takes {self.num_inputs} feature maps, got {len(feats)}")
        feats = self.conv_t(feats)
        # top-down: from the coarsest level, upsample and merge with the next finer one
        inner = [feats[-1]]
        for block, finer in zip(self.top_down_blocks, reversed(feats[:-1])):
            inner.insert(0, block(paddle.concat([upsample_nearest(inner[0], finer.shape[2:]), finer], axis=1)))
        # bottom-up: from the finest level, downsample and merge with the next coarser one
        outs = [inner[0]]
        for down, block, coarser in zip(self.downsamples, self.bottom_up_blocks, inner[1:]):
            outs.append(block(paddle.concat([down(outs[-1]), coarser], axis=1)))
        if self.first_top_conv is not None:
            outs.append(self.first_top_conv(feats[-1]) + self.second_top_conv(outs[-1]))
        return tuple(outs)

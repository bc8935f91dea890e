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
from tasks.detection.legacy_ops import sum_axis


class DPModule(nn.Layer):
    """Depthwise k x k conv (groups = out_channels) + BN + hard-swish, then pointwise 1x1 conv + BN
    (+ hard-swish when `act_out`). PaddleDetection's csp_pan DPModule.

    With fewer outputs than inputs (PicoHeadV2's cls_align: 96 -> 1) each group of the k x k
    conv reads several channels; it then runs as a depthwise conv of every input channel and a
    sum per group (`_grouped_conv`), the same numbers to float rounding. onnxruntime pads a
    conv's outputs to 8 channels, so the 96 -> 1 conv cost 8x its work: PicoDet-S 192 runs
    0.7 ms (1 thread) / 0.3 ms (2 threads) faster this way. The sum is a reduce op, not a
    1x1 conv with a filter of ones: Paddle-Lite's opt folds the following BN into such a
    computed filter wrongly (its x86 outputs were off by up to 9 on a test module).
    """

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
        self.stride = stride

    def forward(self, x):
        x = F.hardswish(self.bn1(self._grouped_conv(x)))
        x = self.bn2(self.pwconv(x))
        return F.hardswish(x) if self.act_out else x

    def _grouped_conv(self, x):
        """``self.dwconv(x)``; see the class docstring for the form taken when groups read several channels."""
        out_channels, per_group, k, _ = self.dwconv.weight.shape
        if per_group == 1:
            return self.dwconv(x)
        # weight [out, per_group, k, k] -> one k x k filter per input channel, in input order
        in_channels = out_channels * per_group
        depthwise = F.conv2d(x, self.dwconv.weight.reshape([in_channels, 1, k, k]), stride=self.stride,
                             padding=(k - 1) // 2, groups=in_channels)
        height, width = depthwise.shape[2:]
        group_sums = sum_axis(depthwise.reshape([-1, per_group, height, width]), 1)  # [N * out, 1, h, w]
        return group_sums.reshape([-1, out_channels, height, width])


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

"""PP-LCNet backbone (PaddleDetection's `ppdet/modeling/backbones/lcnet.py`).

Parameter names, shapes and state_dict order equal PaddleDetection's, so its
released `.pdparams` load unchanged (tests/data/reference/params_picodet_*.json).
PicoDet-S uses scale 0.75 and feature maps 3, 4, 5: for an input N x 3 x H x W,
`LCNet.forward` returns [N x 96 x H/8 x W/8, N x 192 x H/16 x W/16, N x 384 x H/32 x W/32].

One difference in form, not in result: the SE block scales with `*`, not with
`paddle.multiply(x=..., y=...)`, whose keyword call breaks Paddle 3.3.1's legacy
(non-PIR) export that Paddle-Lite needs.
"""
import paddle.nn as nn
import paddle.nn.functional as F
from paddle import ParamAttr
from paddle.nn.initializer import KaimingNormal
from paddle.regularizer import L2Decay

# per stage: (kernel, in channels, out channels, stride, SE) of each block, at scale 1.0
STAGES = {
    "blocks2": [(3, 16, 32, 1, False)],
    "blocks3": [(3, 32, 64, 2, False), (3, 64, 64, 1, False)],
    "blocks4": [(3, 64, 128, 2, False), (3, 128, 128, 1, False)],
    "blocks5": [(3, 128, 256, 2, False)] + [(5, 256, 256, 1, False)] * 5,
    "blocks6": [(5, 256, 512, 2, True), (5, 512, 512, 1, True)],
}
# PaddleDetection's feature map index of each stage output (stride 4, 8, 16, 32)
FEATURE_MAP_STAGES = {2: "blocks3", 3: "blocks4", 4: "blocks5", 5: "blocks6"}
STAGE_FEATURE_MAP = {stage: index for index, stage in FEATURE_MAP_STAGES.items()}


def make_divisible(value, divisor=8):
    """Round channels to a multiple of `divisor`, never more than 10% below `value`."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ConvBNLayer(nn.Layer):
    """Conv (no bias) + BatchNorm + optional hard-swish.

    `weight_init` and `bn_weight_decay` follow the layer being reproduced: LCNet
    uses Kaiming-normal weights and no weight decay on BatchNorm; the neck's channel
    transforms (PaddleDetection's csp_pan ConvBNLayer) Kaiming-uniform and the
    optimizer's decay.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, groups=1, act=True,
                 weight_init=KaimingNormal, bn_weight_decay=False):
        super().__init__()
        self.conv = nn.Conv2D(in_channels, out_channels, kernel_size, stride=stride,
                              padding=(kernel_size - 1) // 2, groups=groups,
                              weight_attr=ParamAttr(initializer=weight_init()), bias_attr=False)
        bn_attr = None if bn_weight_decay else ParamAttr(regularizer=L2Decay(0.0))
        self.bn = nn.BatchNorm2D(out_channels, weight_attr=bn_attr, bias_attr=bn_attr)
        self.act = act

    def forward(self, x):
        x = self.bn(self.conv(x))
        return F.hardswish(x) if self.act else x


class SEModule(nn.Layer):
    """Squeeze-excitation: x * hardsigmoid(conv2(relu(conv1(avgpool(x)))))."""

    def __init__(self, channels, reduction=4):
        super().__init__()
        self.conv1 = nn.Conv2D(channels, channels // reduction, 1)
        self.conv2 = nn.Conv2D(channels // reduction, channels, 1)

    def forward(self, x):
        weight = F.adaptive_avg_pool2d(x, 1)
        weight = F.hardsigmoid(self.conv2(F.relu(self.conv1(weight))))
        return x * weight


class DepthwiseSeparable(nn.Layer):
    """Depthwise k x k conv (with stride) -> optional SE -> pointwise 1x1 conv, each conv + BN + hard-swish."""

    def __init__(self, in_channels, out_channels, stride, kernel_size=3, use_se=False):
        super().__init__()
        self.dw_conv = ConvBNLayer(in_channels, in_channels, kernel_size, stride=stride, groups=in_channels)
        self.se = SEModule(in_channels) if use_se else None
        self.pw_conv = ConvBNLayer(in_channels, out_channels, 1)

    def forward(self, x):
        x = self.dw_conv(x)
        if self.se is not None:
            x = self.se(x)
        return self.pw_conv(x)


class LCNet(nn.Layer):
    """forward(image [N,3,H,W]) -> list of the feature maps named in `feature_maps` (2..5)."""

    def __init__(self, scale=0.75, feature_maps=(3, 4, 5)):
        super().__init__()
        unknown = sorted(set(feature_maps) - set(FEATURE_MAP_STAGES))
        if unknown:
            raise ValueError(f"LCNet: feature_maps {unknown} do not exist; choose from {sorted(FEATURE_MAP_STAGES)}")
        self.feature_maps = tuple(feature_maps)
        self.conv1 = ConvBNLayer(3, make_divisible(16 * scale), 3, stride=2)
        for stage, blocks in STAGES.items():
            setattr(self, stage, nn.Sequential(*[
                DepthwiseSeparable(make_divisible(c_in * scale), make_divisible(c_out * scale), stride,
                                   kernel_size=k, use_se=se)
                for k, c_in, c_out, stride, se in blocks]))
        self.out_channels = [make_divisible(STAGES[FEATURE_MAP_STAGES[i]][-1][2] * scale)
                             for i in self.feature_maps]

    def forward(self, image):
        x = self.conv1(image)
        outs = []
        for stage in STAGES:
            x = getattr(self, stage)(x)
            if STAGE_FEATURE_MAP.get(stage) in self.feature_maps:
                outs.append(x)
        return outs

"""LiteHRNet backbone, "naive" family (PP-TinyPose uses `wider_naive`).

Parameter names, shapes and state_dict order equal PaddleDetection's
`ppdet/modeling/backbones/lite_hrnet.py`, so its released `.pdparams` load
unchanged (the exact list is tests/data/reference/params_tinypose_*.json).
Only the NAIVE module type (ShuffleNet-v2 units in every branch) is built;
the LITE variants (conditional channel weighting) are not needed here.

Three points differ in form from PaddleDetection but not in result:
* Upsampling (fuse layers: nearest, `nn.Upsample(scale_factor=2**k)` there; head:
  bilinear with aligned corners) uses tasks.common.upsample instead of Paddle's
  interpolation ops, whose float64 scale array paddle2onnx 2.1.0 rejects and
  oneDNN cannot run in a PIR program. With the input sizes used (multiples of
  32), both give the same pixels.
* Layers with no parameters in a layer list (PaddleDetection stores None) are
  `nn.Identity`, which keeps the indices and hence the parameter names.
* The channel shuffle after each concat is one stack + reshape (`shuffle_concat`)
  instead of concat + reshape + transpose + reshape: the same channel order.

Shapes (input N x 3 x H x W, H and W multiples of 32): stem -> N x 32 x H/4 x W/4;
branch k has channels C_k (40, 80, 160, 320 for wider_naive) at H/2^(k+2);
`LiteHRNet.forward` returns the head outputs, highest resolution first:
[N x C_0 x H/4 x W/4, N x C_1 x H/8 x W/8, ...].
"""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle import ParamAttr
from paddle.nn.initializer import Constant, Normal

from tasks.common.upsample import require_size_multiple, upsample_bilinear_aligned, upsample_nearest

SIZE_DIVISOR = 32  # the lowest branch is at 1/32, upsampled back by whole factors

NETWORKS = {
    # modules per stage, ShuffleUnits per branch, channels per branch per stage
    "naive": {"num_modules": (2, 4, 2), "num_blocks": 2,
              "channels": ((30, 60), (30, 60, 120), (30, 60, 120, 240))},
    "wider_naive": {"num_modules": (2, 4, 2), "num_blocks": 2,
                    "channels": ((40, 80), (40, 80, 160), (40, 80, 160, 320))},
}


def shuffle_concat(a, b):
    """ShuffleNet's channel shuffle (2 groups) of concat([a, b]): [N, C, H, W] x 2 -> [N, 2C, H, W]
    with channels a0, b0, a1, b1, ... Stacking on a new axis 2 gives that order in one copy,
    where concat + reshape + transpose + reshape takes two (TinyPose 128x96 on onnxruntime:
    0.2 ms less, 49 shuffles)."""
    _, c, h, w = a.shape
    return paddle.stack([a, b], axis=2).reshape([-1, 2 * c, h, w])


class ConvBN(nn.Layer):
    """Conv (no bias) + BatchNorm + optional ReLU.

    `norm` is created before `conv` because PaddleDetection's ConvNormLayer
    does so, and the state_dict order follows creation order.
    """

    def __init__(self, in_ch, out_ch, kernel, stride=1, groups=1, relu=False):
        super().__init__()
        self.norm = nn.BatchNorm2D(out_ch, weight_attr=ParamAttr(initializer=Constant(1.0)))
        self.conv = nn.Conv2D(in_ch, out_ch, kernel, stride=stride, padding=(kernel - 1) // 2,
                              groups=groups, bias_attr=False,
                              weight_attr=ParamAttr(initializer=Normal(0.0, 0.001)))
        self.relu = relu

    def forward(self, x):
        x = self.norm(self.conv(x))
        return F.relu(x) if self.relu else x


def _plain_conv(in_ch, out_ch, kernel, stride=1, groups=1):
    """Bias-free conv of the transition/fuse layers (N(0, 0.001) init, as PaddleDetection's)."""
    return nn.Conv2D(in_ch, out_ch, kernel, stride=stride, padding=(kernel - 1) // 2,
                     groups=groups, bias_attr=False,
                     weight_attr=ParamAttr(initializer=Normal(0.0, 0.001)))


def _dw_pw(in_ch, out_ch, stride, relu):
    """Depthwise 3x3 + BN + pointwise 1x1 + BN (+ ReLU), as one nn.Sequential (indices 0..3/4)."""
    layers = [_plain_conv(in_ch, in_ch, 3, stride, groups=in_ch), nn.BatchNorm2D(in_ch),
              _plain_conv(in_ch, out_ch, 1), nn.BatchNorm2D(out_ch)]
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Stem(nn.Layer):
    """3 -> 32 channels at 1/4 resolution (stride-2 conv, then a stride-2 shuffle block)."""

    def __init__(self, in_ch=3, stem_ch=32):
        super().__init__()
        half = stem_ch // 2
        self.conv1 = ConvBN(in_ch, stem_ch, 3, stride=2, relu=True)
        self.branch1 = nn.Sequential(ConvBN(half, half, 3, stride=2, groups=half),
                                     ConvBN(half, stem_ch - half, 1, relu=True))
        self.expand_conv = ConvBN(half, stem_ch, 1, relu=True)
        self.depthwise_conv = ConvBN(stem_ch, stem_ch, 3, stride=2, groups=stem_ch)
        self.linear_conv = ConvBN(stem_ch, half, 1, relu=True)

    def forward(self, x):
        x1, x2 = paddle.chunk(self.conv1(x), 2, axis=1)
        x1 = self.branch1(x1)
        x2 = self.linear_conv(self.depthwise_conv(self.expand_conv(x2)))
        return shuffle_concat(x1, x2)


class ShuffleUnit(nn.Layer):
    """ShuffleNet-v2 unit, stride 1: half the channels pass, half go through 1x1-dw3x3-1x1."""

    def __init__(self, channels):
        super().__init__()
        half = channels // 2
        self.branch2 = nn.Sequential(ConvBN(half, half, 1, relu=True),
                                     ConvBN(half, half, 3, groups=half),
                                     ConvBN(half, half, 1, relu=True))

    def forward(self, x):
        x1, x2 = paddle.chunk(x, 2, axis=1)
        return shuffle_concat(x1, self.branch2(x2))


class NaiveModule(nn.Layer):
    """Parallel branches of ShuffleUnits, then a fuse that mixes every branch into every output."""

    def __init__(self, channels, num_blocks):
        super().__init__()
        self.channels = list(channels)
        self.layers = nn.LayerList(
            [nn.Sequential(*[ShuffleUnit(c) for _ in range(num_blocks)]) for c in channels])
        self.fuse_layers = nn.LayerList(
            [nn.LayerList([self._fuse(j, i) for j in range(len(channels))])
             for i in range(len(channels))])

    def _fuse(self, j, i):
        """Layer taking branch j to the resolution and channels of output i."""
        c = self.channels
        if j == i:
            return nn.Identity()
        if j > i:  # 1x1 conv + BN here; the upsampling happens in forward
            return nn.Sequential(_plain_conv(c[j], c[i], 1), nn.BatchNorm2D(c[i]))
        steps = i - j  # stride-2 steps; only the last one changes channels, and has no ReLU
        return nn.Sequential(*[_dw_pw(c[j], c[i] if k == steps - 1 else c[j], 2, relu=k < steps - 1)
                               for k in range(steps)])

    def forward(self, xs):
        xs = [branch(x) for branch, x in zip(self.layers, xs)]
        outs = []
        for i, fuse in enumerate(self.fuse_layers):
            # PaddleDetection's fuse adds the branch-0 term twice (its loop starts at
            # j = 0 with `y += y`) and feeds the fused, pre-ReLU output 0 to the later
            # outputs. The released weights were trained that way, so keep it.
            y = xs[0] if i == 0 else fuse[0](xs[0])
            y = y + y
            for j in range(1, len(xs)):
                if j == i:
                    y = y + xs[j]
                elif j > i:
                    y = y + upsample_nearest(fuse[j](xs[j]), xs[i].shape[2:])
                else:
                    y = y + fuse[j](xs[j])
            if i == 0:
                xs[0] = y
            outs.append(F.relu(y))
        return outs


class DepthwiseSeparable(nn.Layer):
    """Depthwise 3x3 ConvBN (no activation) + pointwise 1x1 ConvBN + ReLU."""

    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.depthwise_conv = ConvBN(in_ch, in_ch, 3, groups=in_ch)
        self.pointwise_conv = ConvBN(in_ch, out_ch, 1, relu=True)

    def forward(self, x):
        return self.pointwise_conv(self.depthwise_conv(x))


class IterativeHead(nn.Layer):
    """From the lowest resolution up: add the upsampled previous result, then project."""

    def __init__(self, channels):
        super().__init__()
        rev = list(channels)[::-1]
        outs = rev[1:] + rev[-1:]
        self.projects = nn.LayerList([DepthwiseSeparable(a, b) for a, b in zip(rev, outs)])

    def forward(self, xs):
        ys = []
        for x, project in zip(xs[::-1], self.projects):
            if ys:
                x = x + upsample_bilinear_aligned(ys[-1], x.shape[2:])
            ys.append(project(x))
        return ys[::-1]


class LiteHRNet(nn.Layer):
    """LiteHRNet backbone. forward(image [N,3,H,W]) -> list of head features, highest resolution first."""

    def __init__(self, network_type="wider_naive"):
        super().__init__()
        if network_type not in NETWORKS:
            raise ValueError(f"LiteHRNet: network_type {network_type!r} is not one of {sorted(NETWORKS)}")
        cfg = NETWORKS[network_type]
        self.network_type = network_type
        self.out_channels = list(cfg["channels"][-1])
        self.stem = Stem(3, 32)
        prev = [32]
        for k, (channels, num_modules) in enumerate(zip(cfg["channels"], cfg["num_modules"])):
            setattr(self, f"transition{k}", self._transition(prev, channels))
            setattr(self, f"stage{k}", nn.Sequential(
                *[NaiveModule(channels, cfg["num_blocks"]) for _ in range(num_modules)]))
            prev = list(channels)
        self.head_layer = IterativeHead(prev)
        self.num_stages = len(cfg["channels"])

    @staticmethod
    def _transition(prev, cur):
        """Per new branch i: adapt branch i's channels, or derive a new branch from the last one."""
        layers = []
        for i, c in enumerate(cur):
            if i < len(prev):
                layers.append(nn.Identity() if c == prev[i] else _dw_pw(prev[i], c, 1, relu=True))
            else:
                steps = i + 1 - len(prev)
                layers.append(nn.Sequential(
                    *[_dw_pw(prev[-1], c if k == steps - 1 else prev[-1], 2, relu=True)
                      for k in range(steps)]))
        return nn.LayerList(layers)

    def forward(self, x):
        require_size_multiple(x, SIZE_DIVISOR, "LiteHRNet")
        ys = [self.stem(x)]
        for k in range(self.num_stages):
            transition = getattr(self, f"transition{k}")
            # a new branch (index beyond the previous stage's) starts from the last branch
            xs = [t(ys[min(j, len(ys) - 1)]) for j, t in enumerate(transition)]
            ys = getattr(self, f"stage{k}")(xs)
        return self.head_layer(ys)

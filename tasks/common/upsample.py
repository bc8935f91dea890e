"""Upsampling written without Paddle's interpolation ops, for networks that are exported.

Paddle 3.3.1 records every ``nearest_interp``/``bilinear_interp`` with a ``scale``
attribute that is an array of float64 (empty when an output size is given). In a
PIR program (``model.json``) the CPU predictor's oneDNN kernels cannot convert that
attribute ("ConvertPirAttribute2RuntimeAttribute not support
[pir::ArrayAttribute<pir::DoubleAttribute>]"), and oneDNN is on by default, so
PaddleDetection's deploy code fails on such a program. paddle2onnx 2.1.0 rejects a
non-empty float64 scale as well. The functions below give the same pixels as
``F.interpolate`` with reshape/expand and matmul, whose attributes are integers or
scalars, so the program loads in every mode.
"""
import paddle
import paddle.nn.functional as F


def upsample_nearest(x, size):
    """``F.interpolate(x, size, mode="nearest")`` for an output ``size`` (h, w) that is an
    integer multiple of x's: each pixel repeated ``factor`` times along each axis."""
    n_channels, h, w = x.shape[1:]
    out_h, out_w = (int(v) for v in size)
    if out_h % h or out_w % w:
        raise ValueError(f"upsample_nearest: output size {out_h}x{out_w} is not a multiple of the "
                         f"input size {h}x{w}; use input sizes that are multiples of the network stride")
    fh, fw = out_h // h, out_w // w
    repeated = x.reshape([-1, n_channels, h, 1, w, 1]).expand([-1, n_channels, h, fh, w, fw])
    return repeated.reshape([-1, n_channels, out_h, out_w])


def upsample_bilinear_aligned(x, size):
    """``F.interpolate(x, size, mode="bilinear", align_corners=True)`` as two products with
    interpolation matrices along the last axis (``F.linear``: paddle.matmul has no
    legacy-program form in Paddle 3.3), interpolating width, then height."""
    h, w = x.shape[2:]
    out_h, out_w = (int(v) for v in size)
    wide = F.linear(x, _aligned_weights(out_w, w).t())                       # [N, C, h, out_w]
    tall = F.linear(wide.transpose([0, 1, 3, 2]), _aligned_weights(out_h, h).t())  # [N, C, out_w, out_h]
    return tall.transpose([0, 1, 3, 2])


def _aligned_weights(n_out, n_in):
    """[n_out, n_in] linear-interpolation weights with aligned corners: output i samples input
    position p_i = i * (n_in - 1) / (n_out - 1), and input j weighs max(0, 1 - |p_i - j|)."""
    step = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    positions = paddle.arange(n_out, dtype="float32") * step
    offsets = positions.unsqueeze(1) - paddle.arange(n_in, dtype="float32").unsqueeze(0)
    # |d| as relu(d) + relu(-d): paddle.abs and paddle.minimum have no legacy-program form in Paddle 3.3
    return F.relu(1.0 - F.relu(offsets) - F.relu(-offsets))

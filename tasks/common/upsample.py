"""Resizing written without Paddle's interpolation ops, for networks that are exported.

Paddle 3.3.1 records every ``nearest_interp``/``bilinear_interp`` with a ``scale``
attribute that is an array of float64 (empty when an output size is given). In a
PIR program (``model.json``) the CPU predictor's oneDNN kernels cannot convert that
attribute ("ConvertPirAttribute2RuntimeAttribute not support
[pir::ArrayAttribute<pir::DoubleAttribute>]"), and oneDNN is on by default, so
PaddleDetection's deploy code fails on such a program; paddle2onnx 2.1.0 rejects a
non-empty float64 scale as well.

Here a resize is two products with [out, in] weight matrices, width first, then
height; the matrices are built in the graph from ``arange`` (scalar attributes only)
and constant-folded by the runtimes. Each product is 2-D (rows of pixels x matrix):
oneDNN computes a 4-D ``F.linear`` wrongly, and ``paddle.matmul``, ``paddle.abs``
and ``paddle.minimum`` have no legacy-program form in Paddle 3.3. Measured with
onnxruntime (1 thread, TinyPose 128x96) this is as fast as the interpolation ops,
while repeating pixels with reshape + expand was 1.5x slower.
"""
import paddle
import paddle.nn.functional as F


def upsample_nearest(x, size):
    """``F.interpolate(x, size, mode="nearest")``: output pixel i takes input floor(i * in / out)."""
    return _resize(x, size, _nearest_positions)


def upsample_nearest_by_conv(x, size):
    """``upsample_nearest`` to a whole multiple of the input size, as a transposed conv whose
    kernel copies each channel onto a factor x factor block (ones on the channel diagonal).

    Exact, and a conv keeps onnxruntime's blocked memory layout where the two products leave
    it: PicoDet-S 192 (three 2x upsamplings of 96 channels) runs 0.6 ms faster on 2 threads.
    The kernel costs channels^2 x factor^2 multiplies per input pixel, so TinyPose (26
    upsamplings of up to 8x) is 0.6 ms slower this way and keeps ``upsample_nearest``. A
    depthwise kernel would be cheaper, but Paddle-Lite has no x86 kernel for that op.
    """
    n_channels, h, w = x.shape[1:]
    factor = int(size[0]) // h
    if factor < 1 or factor * h != int(size[0]) or factor * w != int(size[1]):
        raise ValueError(f"upsample_nearest_by_conv: {[h, w]} -> {[int(v) for v in size]} is not a whole factor")
    # the identity from the ops below (Paddle-Lite has no kernel for paddle.eye's op)
    eye = _weights(paddle.arange(n_channels, dtype="float32"), n_channels).reshape([n_channels, n_channels, 1, 1])
    kernel = eye * paddle.ones([1, 1, factor, factor], dtype="float32")
    return F.conv2d_transpose(x, kernel, stride=factor)


def upsample_bilinear_aligned(x, size):
    """``F.interpolate(x, size, mode="bilinear", align_corners=True)``."""
    return _resize(x, size, _aligned_positions)


def _resize(x, size, positions):
    n_channels, h, w = x.shape[1:]
    out_h, out_w = (int(v) for v in size)
    wide = F.linear(x.reshape([-1, w]), _weights(positions(out_w, w), w).t())      # [N*C*h, out_w]
    wide = wide.reshape([-1, n_channels, h, out_w]).transpose([0, 1, 3, 2]).reshape([-1, h])
    tall = F.linear(wide, _weights(positions(out_h, h), h).t())                   # [N*C*out_w, out_h]
    return tall.reshape([-1, n_channels, out_w, out_h]).transpose([0, 1, 3, 2])


def _nearest_positions(n_out, n_in):
    positions = paddle.arange(n_out, dtype="float32") * (n_in / n_out)
    return paddle.cast(paddle.cast(positions, "int64"), "float32")  # floor: positions are >= 0


def _aligned_positions(n_out, n_in):
    return paddle.arange(n_out, dtype="float32") * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)


def _weights(positions, n_in):
    """[n_out, n_in] weights of linear interpolation at ``positions`` (input pixel units):
    input j weighs max(0, 1 - |p - j|), which is 1 at j == p for whole-pixel positions."""
    offsets = positions.unsqueeze(1) - paddle.arange(n_in, dtype="float32").unsqueeze(0)
    return F.relu(1.0 - F.relu(offsets) - F.relu(-offsets))  # |d| = relu(d) + relu(-d)

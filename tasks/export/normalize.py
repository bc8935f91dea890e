"""Input normalization inside the network (PaddleDetection's ``fuse_normalize``)."""
import numpy as np
import paddle


class NormalizeInput(paddle.nn.Layer):
    """Wrap ``model`` so it takes RGB float 0..255 NCHW instead of normalized input.

    forward(x [N, 3, H, W] in 0..255) = model(x * scale + bias) with
    scale = 1 / (255 * std) and bias = -mean / std, which is what PaddleDetection's
    ``BaseArch.load_meanstd`` computes for ``NormalizeImage(is_scale=True)``.
    Both are float32 buffers, so the exported program carries no float64 array.
    """

    def __init__(self, model, mean, std):
        super().__init__()
        self.model = model
        mean = np.asarray(mean, dtype=np.float32).reshape(1, 3, 1, 1)
        std = np.asarray(std, dtype=np.float32).reshape(1, 3, 1, 1)
        self.register_buffer("scale", paddle.to_tensor(np.float32(1.0 / 255.0) / std))
        self.register_buffer("bias", paddle.to_tensor(-mean / std))

    def forward(self, x):
        return self.model(x * self.scale + self.bias)

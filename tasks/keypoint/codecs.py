"""Heatmap codecs: keypoints <-> Gaussian heatmaps, encode and decode side by side.

Sizes are (w, h) pairs; arrays are [..., h, w]. Keypoints are (x, y) in
input-crop pixels (the network input, e.g. 96x128).

``DarkHeatmap`` is what PP-TinyPose trains and evaluates with in
PaddleDetection (``ToHeatmapsTopDown_DARK`` + ``HRNetPostProcess`` with
``use_dark``); ``UDPHeatmap`` is the same Gaussian and the same DARK decoding on
the unbiased (UDP) grid, as mmpose's ``UDPHeatmap`` places it.

``CODECS`` builds one from a config's ``codec: {type: DarkHeatmap, sigma: 1}``;
``DarkHeatmap.for_decoding(input_size, heatmap_size)`` is one that only decodes
(deployment, checks of exported models), with no target Gaussian to choose.
"""
import cv2
import numpy as np

from tasks.common.registry import Registry

CODECS = Registry("keypoint codec")


class _GaussianHeatmap:
    """Un-normalised Gaussian heatmaps (peak 1) at sub-pixel positions.

    Subclasses define ``stride`` (input pixels per heatmap cell, (x, y)), i.e.
    where a keypoint lands on the heatmap grid. ``sigma`` None: a decode-only codec
    (see ``for_decoding``), whose ``encode`` raises.
    """

    stride = None

    def __init__(self, input_size, heatmap_size, sigma, blur_kernel_size=3):
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.heatmap_size = (int(heatmap_size[0]), int(heatmap_size[1]))
        self.sigma = None if sigma is None else float(sigma)
        if self.sigma is not None and not self.sigma > 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        self.blur_kernel_size = int(blur_kernel_size)
        if self.blur_kernel_size != 3:
            raise ValueError(f"blur_kernel_size must be 3 (PaddleDetection's DARK), got {blur_kernel_size}")
        w, h = self.heatmap_size
        self._xs = np.arange(w, dtype=np.float32)
        self._ys = np.arange(h, dtype=np.float32)

    @classmethod
    def for_decoding(cls, input_size, heatmap_size):
        """A codec that decodes heatmaps of ``heatmap_size`` to ``input_size`` pixels only.

        Decoding does not depend on the training Gaussian's sigma, so none is asked for.
        """
        return cls(input_size, heatmap_size, sigma=None)

    def encode(self, keypoints, visible):
        """keypoints [K, 2] (input pixels), visible [K] -> heatmaps [K, h, w], target_weight [K, 1].

        Both float32. ``target_weight`` is min(visible, 1), set to 0 where the
        Gaussian's 3-sigma square lies wholly outside the heatmap (the bounds use
        Python ``int`` truncation, as PaddleDetection does). Joints of weight 0
        get an all-zero heatmap; the others a Gaussian over the whole grid
        centred at the exact sub-pixel position.
        """
        if self.sigma is None:
            raise ValueError(f"{type(self).__name__} built for decoding only (no sigma): it cannot encode")
        keypoints = np.asarray(keypoints, dtype=np.float64)
        mu = keypoints / np.asarray(self.stride)  # [K, 2] heatmap cells
        weight = np.minimum(np.asarray(visible, dtype=np.float32), 1.0)
        radius = 3.0 * self.sigma
        upper_left = np.trunc(mu - radius)
        bottom_right = np.trunc(mu + radius + 1.0)
        w, h = self.heatmap_size
        outside = ((upper_left[:, 0] >= w) | (upper_left[:, 1] >= h)
                   | (bottom_right[:, 0] < 0) | (bottom_right[:, 1] < 0))
        weight = np.where(outside, 0.0, weight).astype(np.float32)

        mu = mu.astype(np.float32)
        two_var = np.float32(2.0 * self.sigma ** 2)
        # exp(-(dx^2 + dy^2) / 2s^2) is separable: an outer product of two 1-D Gaussians.
        gx = np.exp(-(self._xs[None, :] - mu[:, :1]) ** 2 / two_var)  # [K, w]
        gy = np.exp(-(self._ys[None, :] - mu[:, 1:]) ** 2 / two_var)  # [K, h]
        heatmaps = gy[:, :, None] * gx[:, None, :]
        heatmaps[weight <= 0.5] = 0.0
        return heatmaps.astype(np.float32, copy=False), weight[:, None]

    def decode(self, heatmaps):
        """heatmaps [N, K, h, w] -> keypoints [N, K, 2] (input pixels), scores [N, K].

        Argmax, then DARK refinement (Zhang et al. CVPR 2020) with
        PaddleDetection's numerics: 3x3 Gaussian blur of the zero-padded
        heatmap rescaled to its former maximum, log (floor 1e-10), one Newton
        step x -= H^-1 g from finite differences at the argmax cell (spacing 1
        for the gradient, 2 for the Hessian), skipped within 2 cells of the
        border or where H is singular. Scores are the raw maxima; a joint whose
        maximum is <= 0 is placed at cell (0, 0).
        """
        heatmaps = np.asarray(heatmaps)
        coords, scores = get_heatmap_maximum(heatmaps)
        coords = refine_dark(heatmaps, coords)
        return (coords * np.asarray(self.stride)).astype(np.float32), scores


@CODECS.register
class DarkHeatmap(_GaussianHeatmap):
    """PaddleDetection's TinyPose target: heatmap cell = input pixel / (input / heatmap).

    With input (96, 128) and heatmap (24, 32) the stride is 4: keypoint x lands at x / 4.

    Args:
        input_size: (w, h) of the network input.
        heatmap_size: (w, h) of the heatmap.
        sigma: Gaussian std in heatmap cells (TinyPose: 1 at 128x96, 2 at 256x192).
    """

    @property
    def stride(self):
        return (self.input_size[0] / self.heatmap_size[0], self.input_size[1] / self.heatmap_size[1])


@CODECS.register
class UDPHeatmap(_GaussianHeatmap):
    """Unbiased grid: input pixel 0 and w - 1 land on heatmap cells 0 and w' - 1.

    Stride (w - 1) / (w' - 1), e.g. 95 / 23 at 96 -> 24 (mmpose ``UDPHeatmap``
    placement). Pair it with ``to_image_coords(use_udp=True)``.
    """

    @property
    def stride(self):
        return ((self.input_size[0] - 1.0) / (self.heatmap_size[0] - 1.0),
                (self.input_size[1] - 1.0) / (self.heatmap_size[1] - 1.0))


def get_heatmap_maximum(heatmaps):
    """heatmaps [N, K, h, w] -> cells [N, K, 2] float32 (x, y), maxima [N, K].

    First maximum in row-major order; cells of maxima <= 0 are set to (0, 0).
    """
    n, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, h * w)
    index = flat.argmax(axis=2)
    maxima = np.take_along_axis(flat, index[..., None], axis=2)[..., 0]
    coords = np.stack([index % w, index // w], axis=-1).astype(np.float32)
    coords[maxima <= 0] = 0.0
    return coords, maxima


# the 3x3 Gaussian of cv2.GaussianBlur(ksize 3, sigma 0): [1, 2, 1] / 4 each way
_BLUR_KERNEL = np.array([0.25, 0.5, 0.25])


def _blur_and_max_ratio(heatmaps):
    """[M, h, w] -> (float64 3x3 Gaussian blur [M, h, w] with zero padding, ratio [M] of each
    map's maximum to its blur's maximum, 1 where the blur is all 0). PaddleDetection blurs a
    zero-padded float64 copy of each map with cv2.GaussianBlur and rescales it to the map's
    former maximum: blur x ratio, which ``refine_dark`` computes only at the cells it reads.

    All maps go through one ``cv2.sepFilter2D`` call, stacked in one image with a zero row
    after each, so that no map's blur reaches into the next: 2x faster than the same sums
    in numpy on six persons' maps."""
    m, h, w = heatmaps.shape
    stacked = np.zeros((m, h + 1, w))
    stacked[:, :h] = heatmaps
    blurred = cv2.sepFilter2D(stacked.reshape(-1, w), cv2.CV_64F, _BLUR_KERNEL, _BLUR_KERNEL,
                              borderType=cv2.BORDER_CONSTANT)
    blurred = blurred.reshape(m, h + 1, w)[:, :h]
    old_max = heatmaps.max(axis=(1, 2)).astype(np.float64)
    new_max = blurred.max(axis=(1, 2))
    return blurred, np.divide(old_max, new_max, out=np.ones_like(new_max), where=new_max != 0)


# (dy, dx) of the cells refine_dark reads around the maximum, in the order it unpacks them
_DARK_CELLS = np.array([(0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (0, 2), (0, -2),
                        (1, 1), (-1, 1), (1, -1), (-1, -1), (2, 0), (-2, 0)])


def refine_dark(heatmaps, coords):
    """DARK sub-pixel refinement. heatmaps [N, K, h, w], cells [N, K, 2] -> [N, K, 2] float32."""
    n, k, h, w = heatmaps.shape
    blurred, ratio = _blur_and_max_ratio(heatmaps.reshape(n * k, h, w))
    coords = coords.reshape(n * k, 2).copy()
    px = coords[:, 0].astype(np.int64)
    py = coords[:, 1].astype(np.int64)
    inside = (px > 1) & (px < w - 2) & (py > 1) & (py < h - 2)
    i, x, y = np.nonzero(inside)[0], px[inside], py[inside]
    if i.size:
        # the log of the smoothed map at the 13 cells the Newton step reads, in one gather
        cell_dy, cell_dx = _DARK_CELLS.T
        smooth = blurred[i[:, None], y[:, None] + cell_dy, x[:, None] + cell_dx] * ratio[i, None]
        logs = np.log(np.maximum(smooth, 1e-10))
        centre, right, left, down, up, right2, left2, down_right, up_right, down_left, up_left, down2, up2 = logs.T
        dx = 0.5 * (right - left)
        dy = 0.5 * (down - up)
        dxx = 0.25 * (right2 - 2 * centre + left2)
        dxy = 0.25 * (down_right - up_right - down_left + up_left)
        dyy = 0.25 * (down2 - 2 * centre + up2)
        det = dxx * dyy - dxy ** 2
        ok = det != 0
        safe = np.where(ok, det, 1.0)
        off_x = -(dyy * dx - dxy * dy) / safe
        off_y = -(dxx * dy - dxy * dx) / safe
        coords[i[ok], 0] += off_x[ok]
        coords[i[ok], 1] += off_y[ok]
    return coords.reshape(n, k, 2)

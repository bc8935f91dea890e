"""Top-down stage: information dropping, the UDP crop, the heatmap targets."""
import cv2
import numpy as np

from tasks.transforms import RandomTransform

from ..geometry import PIXEL_STD, apply_affine, udp_warp_matrix
from .registry import TRANSFORMS


@TRANSFORMS.register
class InformationDropping(RandomTransform):
    """AID cut-out (Huang et al., arXiv 2008.07139), PaddleDetection's
    ``AugmentationbyInformantionDropping``: with probability ``prob_cutout``,
    zero ``num_patch`` discs of the source image, each around a random visible
    joint moved by N(0, (w_in * offset_factor)^2) source pixels, with radius
    U(0.1, 0.2) * w_in source pixels (w_in = input width, a quirk kept: the
    disc is sized in source pixels by the input width).

    Pixel (x, y) is dropped when ((cx - x) / r)^2 + ((cy - y) / r)^2 <= 1.
    PaddleDetection evaluates that over every source pixel (6.3 ms at
    640x480); here it is evaluated only inside the disc's bounding box, which
    drops exactly the same pixels at O(r^2) cost. Modifies ``image`` in place
    (the sample owns it: ``LoadImage`` decodes a fresh one).
    """

    def __init__(self, input_size, prob_cutout=0.5, offset_factor=0.05, num_patch=1, seed=None):
        super().__init__(seed)
        self.input_width = float(input_size[0])
        self.prob_cutout = prob_cutout
        self.offset_factor = offset_factor
        self.num_patch = num_patch

    def __call__(self, results):
        rng = self.rng(results)
        if not rng.random() < self.prob_cutout:
            return results
        ids = np.flatnonzero(np.asarray(results["keypoints_visible"]) > 0)
        if ids.size == 0:
            return results
        image = results["image"]
        height, width = image.shape[:2]
        for _ in range(self.num_patch):
            joint = results["keypoints"][rng.choice(ids)]
            cx, cy = joint[:2] + rng.standard_normal(2) * self.input_width * self.offset_factor
            radius = rng.uniform(0.1, 0.2) * self.input_width
            x0, x1 = max(0, int(np.floor(cx - radius))), min(width, int(np.ceil(cx + radius)) + 1)
            y0, y1 = max(0, int(np.floor(cy - radius))), min(height, int(np.ceil(cy + radius)) + 1)
            if x0 >= x1 or y0 >= y1:
                continue
            dx = (cx - np.arange(x0, x1)) / radius
            dy = (cy - np.arange(y0, y1)) / radius
            image[y0:y1, x0:x1][dx[None, :] ** 2 + dy[:, None] ** 2 <= 1] = 0
        return results


def _warp_source(image, matrix):
    """(contiguous array, matrix) for cv2: a mirrored view (negative column
    stride, from ``RandomFlipHalfBody``) is warped from its unmirrored base with
    the mirror folded into the matrix, which saves copying the whole image."""
    if image.strides[1] < 0:
        base = image[:, ::-1]
        mirror = np.array([[-1.0, 0.0, image.shape[1] - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        return np.ascontiguousarray(base), matrix @ mirror
    return np.ascontiguousarray(image), matrix


@TRANSFORMS.register
class TopDownAffine:
    """Crop the person to ``input_size`` (w, h) with the UDP warp.

    Reads ``image``, ``center``, ``scale``, ``rotation`` (0 when absent) and
    ``keypoints`` (optional); writes the crop (uint8 [h, w, 3], bilinear,
    black outside the source) to ``image`` and the keypoints in crop pixels.
    """

    def __init__(self, input_size, pixel_std=PIXEL_STD):
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.pixel_std = pixel_std

    def __call__(self, results):
        matrix = udp_warp_matrix(results["center"], results["scale"], results.get("rotation", 0.0),
                                 self.input_size, self.pixel_std)
        source, source_matrix = _warp_source(results["image"], matrix)
        results["image"] = cv2.warpAffine(source, source_matrix, self.input_size, flags=cv2.INTER_LINEAR)
        if "keypoints" in results:
            results["keypoints"] = apply_affine(results["keypoints"], matrix).astype(np.float32)
        return results


@TRANSFORMS.register
class GenerateTarget:
    """Heatmap targets from crop keypoints with a codec (``tasks.keypoint.codecs``).

    Writes ``target`` [K, h', w'] and ``target_weight`` [K, 1] (float32).
    """

    def __init__(self, codec):
        self.codec = codec

    def __call__(self, results):
        results["target"], results["target_weight"] = self.codec.encode(
            results["keypoints"], results["keypoints_visible"])
        return results

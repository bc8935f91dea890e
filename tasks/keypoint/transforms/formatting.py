"""Formatting: normalise, HWC -> CHW, pack the arrays a batch needs."""
import numpy as np

from .base import TRANSFORMS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@TRANSFORMS.register
class NormalizeImage:
    """uint8 RGB image -> float32 (image / 255 - mean) / std, per channel (HWC)."""

    def __init__(self, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        std = np.asarray(std, dtype=np.float64)
        # One multiply-add per pixel instead of divide, subtract, divide.
        self._gain = (1.0 / (255.0 * std)).astype(np.float32)
        self._offset = (-np.asarray(mean, dtype=np.float64) / std).astype(np.float32)

    def __call__(self, results):
        image = results["image"].astype(np.float32)
        image *= self._gain
        image += self._offset
        results["image"] = image
        return results


@TRANSFORMS.register
class Permute:
    """HWC image -> contiguous CHW."""

    def __call__(self, results):
        results["image"] = np.ascontiguousarray(results["image"].transpose(2, 0, 1))
        return results


@TRANSFORMS.register
class PackInputs:
    """Keep only ``keys`` (those present), as numpy arrays of fixed dtypes.

    Float data become float32, ids int64, so a DataLoader can stack them.
    """

    INT_KEYS = frozenset({"image_id", "ann_id", "image_shape"})

    def __init__(self, keys=("image", "target", "target_weight", "center", "scale",
                             "image_id", "ann_id", "score")):
        self.keys = tuple(keys)

    def __call__(self, results):
        return {key: np.asarray(results[key], dtype=np.int64 if key in self.INT_KEYS else np.float32)
                for key in self.keys if key in results}

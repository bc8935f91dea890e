"""Formatting: normalise with the ImageNet mean and std, HWC -> CHW."""
import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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


class Permute:
    """HWC image -> contiguous CHW."""

    def __call__(self, results):
        results["image"] = np.ascontiguousarray(results["image"].transpose(2, 0, 1))
        return results

"""Formatting: pack the arrays a batch needs."""
import numpy as np

from .registry import TRANSFORMS


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

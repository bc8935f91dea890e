"""Boxes and keypoints read out of annotation records that may be malformed.

The report draws rejected records too, whose values can be missing, of the wrong length,
strings, booleans, NaN or infinite: each reader returns None instead of raising, and the
thumbnail then shows the picture without that drawing.
"""
import math

import numpy as np

__all__ = ["finite_numbers", "xywh_box", "xyxy_box", "keypoints_array"]

# Coordinates are clamped to this before drawing: cv2 takes int32 points.
_COORDINATE_LIMIT = 1e6


def finite_numbers(value, length: int):
    """`value` as a list of `length` finite floats, or None (booleans are not numbers)."""
    if not isinstance(value, (list, tuple)) or len(value) != length:
        return None
    numbers = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not math.isfinite(item):
            return None
        numbers.append(float(np.clip(item, -_COORDINATE_LIMIT, _COORDINATE_LIMIT)))
    return numbers


def xywh_box(value):
    """A COCO box [x, y, w, h] -> [x1, y1, x2, y2], or None."""
    box = finite_numbers(value, 4)
    return None if box is None else [box[0], box[1], box[0] + box[2], box[1] + box[3]]


def xyxy_box(value):
    """An AI Challenger box [x1, y1, x2, y2] as given, or None."""
    return finite_numbers(value, 4)


def keypoints_array(value, joints: int):
    """[x, y, v] * joints -> float array [joints, 3], or None."""
    numbers = finite_numbers(value, 3 * joints)
    return None if numbers is None else np.asarray(numbers, np.float32).reshape(joints, 3)

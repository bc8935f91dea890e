"""``TRANSFORMS`` holds every keypoint transform by class name, so a config builds a
pipeline as a list of ``{type: Name, arg: value}`` entries
(``tasks.keypoint.builders.build_transforms``); the shared ones come from ``tasks.transforms``.
"""
from tasks.common.registry import Registry
from tasks.transforms import SHARED_TRANSFORMS

TRANSFORMS = Registry("keypoint transform")
for _shared in SHARED_TRANSFORMS:
    TRANSFORMS.register(_shared)

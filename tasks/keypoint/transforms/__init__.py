"""Top-down keypoint transforms, grouped by stage as mmpose does.

A train pipeline (PP-TinyPose): ``LoadImage`` -> ``RandomFlipHalfBody`` ->
``InformationDropping`` -> ``TopDownAffine`` -> ``GenerateTarget`` ->
``NormalizeImage`` -> ``Permute`` -> ``PackInputs``, listed by name in the
config's ``data.train_pipeline`` and built by ``tasks.keypoint.builders``.
"""
from .base import TRANSFORMS, Compose, RandomTransform
from .common import RandomFlipHalfBody
from .formatting import IMAGENET_MEAN, IMAGENET_STD, NormalizeImage, PackInputs, Permute
from .loading import LoadImage
from .topdown import GenerateTarget, InformationDropping, TopDownAffine

__all__ = [
    "TRANSFORMS", "Compose", "RandomTransform", "LoadImage", "RandomFlipHalfBody", "InformationDropping",
    "TopDownAffine", "GenerateTarget", "NormalizeImage", "Permute", "PackInputs",
    "IMAGENET_MEAN", "IMAGENET_STD",
]

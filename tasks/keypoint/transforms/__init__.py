"""Top-down keypoint transforms, grouped by stage as mmpose does.

A train pipeline (PP-TinyPose): ``LoadImage`` -> ``RandomFlipHalfBody`` ->
``InformationDropping`` -> ``TopDownAffine`` -> ``GenerateTarget`` ->
``NormalizeImage`` -> ``Permute`` -> ``PackInputs``; see
``tasks.keypoint.dataset.build_train_transforms``.
"""
from .base import Compose, RandomTransform
from .common import RandomFlipHalfBody
from .formatting import IMAGENET_MEAN, IMAGENET_STD, NormalizeImage, PackInputs, Permute
from .loading import LoadImage
from .topdown import GenerateTarget, InformationDropping, TopDownAffine

__all__ = [
    "Compose", "RandomTransform", "LoadImage", "RandomFlipHalfBody", "InformationDropping",
    "TopDownAffine", "GenerateTarget", "NormalizeImage", "Permute", "PackInputs",
    "IMAGENET_MEAN", "IMAGENET_STD",
]

"""Transform plumbing both models use: ``Compose``, ``RandomTransform``, ``LoadImage``,
``NormalizeImage`` (with the ImageNet mean and std), ``Permute``.

Each model keeps its own registry of transforms by name (``tasks.keypoint.transforms``,
``tasks.detection.transforms``) and registers ``SHARED_TRANSFORMS`` in it, so both configs
name them the same way.
"""
from .base import Compose, RandomTransform
from .formatting import IMAGENET_MEAN, IMAGENET_STD, NormalizeImage, Permute
from .loading import LoadImage

SHARED_TRANSFORMS = (LoadImage, NormalizeImage, Permute)

__all__ = ["Compose", "RandomTransform", "LoadImage", "NormalizeImage", "Permute", "IMAGENET_MEAN", "IMAGENET_STD",
           "SHARED_TRANSFORMS"]

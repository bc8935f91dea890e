"""Top-down keypoint transforms, grouped by stage as mmpose does.

A train pipeline (PP-TinyPose): ``LoadImage`` -> ``RandomFlipHalfBody`` ->
``InformationDropping`` -> ``TopDownAffine`` -> ``GenerateTarget`` ->
``NormalizeImage`` -> ``Permute`` -> ``PackInputs``, listed by name in the
config's ``data.train_pipeline`` and built by ``tasks.keypoint.builders``.
``LoadImage``, ``NormalizeImage`` and ``Permute`` are shared with the detector
(``tasks.transforms``) and registered here too.
"""
from .common import RandomFlipHalfBody
from .formatting import PackInputs
from .registry import TRANSFORMS
from .topdown import GenerateTarget, InformationDropping, TopDownAffine

__all__ = ["TRANSFORMS", "RandomFlipHalfBody", "InformationDropping", "TopDownAffine", "GenerateTarget", "PackInputs"]

"""The architectures this project ships: TinyPose (keypoints) and PicoDet (person boxes)."""
from tasks.models.defaults import PICODET_CONFIGS, TINYPOSE_CONFIGS
from tasks.models.detector_kind import DETECTOR
from tasks.models.keypoint_kind import KEYPOINT
from tasks.models.registry import register_architecture
from tasks.models.spec import ArchitectureSpec


def _load_keypoint_config(path, overrides=()):
    from tasks.keypoint.config import load_config
    return load_config(path, overrides)


def _build_tinypose(config):
    from tasks.keypoint.builders import build_model
    return build_model(config)


def _load_detector_config(path, overrides=()):
    from tasks.detection.config import load_config
    return load_config(path, overrides)


def _build_picodet(config):
    from tasks.detection.builders import build_model
    return build_model(config)


TINYPOSE = register_architecture(ArchitectureSpec(
    "TinyPose", KEYPOINT, _load_keypoint_config, _build_tinypose,
    default_configs=TINYPOSE_CONFIGS))
PICODET = register_architecture(ArchitectureSpec(
    "PicoDet", DETECTOR, _load_detector_config, _build_picodet,
    default_configs=PICODET_CONFIGS))

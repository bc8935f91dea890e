"""The shipped architectures' configs, and the one of each kind a node or a hint takes when none
is given. It imports nothing, so every room may read it (``tasks.models.builtin`` puts them in
the specs)."""
TINYPOSE_CONFIGS = ("configs/tinypose_128x96.yml", "configs/tinypose_256x192.yml")
PICODET_CONFIGS = ("configs/picodet_s_192_pedestrian.yml", "configs/picodet_s_320_pedestrian.yml")
DEFAULT_CONFIG = {"keypoint": TINYPOSE_CONFIGS[0], "detector": PICODET_CONFIGS[0]}

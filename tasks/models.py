"""One place from a model config to its network: ``build_model(config)``, ``load_model_config(path)``.

A config names its architecture with its top-level ``architecture:`` key
(``TinyPose``, ``PicoDet``). Export builds models here (and training and
evaluation may), so an architecture is added in one place:

* its builder in ``BUILDERS`` and its config loader in ``LOADERS``,
* its infer_cfg.yml writer in ``tasks.deploy.infer_cfg.WRITERS``,
* ``WITH_NMS`` when its export can hold NMS (a detector: exported with and without it).
"""
from tasks.common.config import ConfigError, read_config


def _tinypose(config):
    from tasks.keypoint.builders import build_model
    return build_model(config)


def _picodet(config):
    from tasks.detection.builders import build_model
    return build_model(config)


def _load_tinypose(path, overrides=()):
    from tasks.keypoint.config import load_config
    return load_config(path, overrides)


def _load_picodet(path, overrides=()):
    from tasks.detection.config import load_config
    return load_config(path, overrides)


# config `architecture` -> builder(config) -> paddle.nn.Layer
BUILDERS = {
    "TinyPose": _tinypose,
    "PicoDet": _picodet,
}
# config `architecture` -> load_config(path) of its schema and rules
LOADERS = {
    "TinyPose": _load_tinypose,
    "PicoDet": _load_picodet,
}
# architectures exported with multiclass NMS in the graph by default, or without it on request
WITH_NMS = ("PicoDet",)


def architecture(config) -> str:
    """The architecture a config describes; ValueError naming the config when none is known."""
    name = config.get("architecture")
    if name not in BUILDERS:
        raise ValueError(f"model config {config.get('name', '<unnamed>')!r}: architecture {name!r} is not "
                         f"one of {sorted(BUILDERS)} (set `architecture:` in the config)")
    return name


def build_model(config):
    """The network of ``config`` (a loaded, validated config dict), freshly initialised."""
    return BUILDERS[architecture(config)](config)


def load_model_config(path, overrides=()) -> dict:
    """Any model config file: its ``architecture:`` (after ``_base_`` merging) picks the loader,
    which applies ``overrides`` (``key.sub=value`` strings) and validates it. ConfigError naming
    the file when the architecture is missing or unknown."""
    name = read_config(path).get("architecture")
    if name not in LOADERS:
        raise ConfigError(f"{path}: architecture {name!r} is not one of {sorted(LOADERS)} "
                          "(set `architecture:` in the config)")
    return LOADERS[name](path, overrides)

"""One place from a model config to its network: ``build_model(config)``.

A config names its architecture with its top-level ``architecture:`` key
(``TinyPose``, ``PicoDet``). Export builds models here (and training and
evaluation may), so an architecture is added in one place:

* its builder in ``BUILDERS`` (PicoDet: ``"PicoDet": <tasks.detection builder>``),
* its infer_cfg.yml writer in ``tasks.deploy.infer_cfg.WRITERS``.
"""


def _tinypose(config):
    from tasks.keypoint.builders import build_model
    return build_model(config)


# config `architecture` -> builder(config) -> paddle.nn.Layer
BUILDERS = {
    "TinyPose": _tinypose,
}


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

"""PicoDet configs: tasks.common.config with schemas/detector_config.schema.json and the
detector's rules across fields (pipeline entries name registered transforms with
arguments they take; batch transforms only in the batch pipeline, which pads the boxes).

    config = load_config("configs/picodet_s_192_pedestrian.yml")
"""
from tasks.common import config as common
from tasks.common.config import ConfigError  # noqa: F401 (this module's API)
from tasks.common.validation import validation_problems

from .transforms import TRANSFORMS, BatchTransform, PadGT

SCHEMA = "detector_config"
SAMPLE_PIPELINES = ("train_pipeline", "eval_pipeline")


def picodet_rules(cfg: dict) -> list:
    """Rules across fields: (key, message) pairs."""
    from tasks.models.registry import architecture_problems

    data, problems = cfg["data"], architecture_problems(cfg, "detector")
    for name in SAMPLE_PIPELINES + ("train_batch_pipeline",):
        found = TRANSFORMS.problems_all(data[name], f"data/{name}")
        problems += found
        if found:
            continue
        for i, step in enumerate(data[name]):
            is_batch = issubclass(TRANSFORMS.get(step["type"]), BatchTransform)
            if is_batch and name in SAMPLE_PIPELINES:
                problems.append((f"data/{name}/{i}", f"{step['type']} transforms a whole batch: "
                                                     "it belongs in data/train_batch_pipeline"))
    if not any(step.get("type") == PadGT.__name__ for step in data["train_batch_pipeline"]):
        problems.append(("data/train_batch_pipeline", "needs a PadGT entry (the loss takes padded boxes)"))
    if cfg["model"]["num_levels"] < len(cfg["model"]["feature_maps"]):
        problems.append(("model/num_levels", f"{cfg['model']['num_levels']} is fewer than the backbone's "
                                             f"feature maps {cfg['model']['feature_maps']}"))
    return problems + validation_problems(cfg)


def validate_config(cfg: dict, source="<config>") -> dict:
    """Validate a merged config dict; raise ConfigError naming `source` and every bad key."""
    return common.validate_config(cfg, SCHEMA, picodet_rules, source)


def load_config(path, overrides=()) -> dict:
    """Read a PicoDet YAML config (resolving `_base_`, applying `overrides`), validate it and return the merged dict."""
    return common.load_config(path, SCHEMA, picodet_rules, overrides)

"""Keypoint model configs (TinyPose's, and any architecture registered as a keypoint model):
tasks.common.config with schemas/keypoint_config.schema.json and the rules across fields
(a registered architecture, joint ids, milestones, heatmap aspect ratio, pipeline entries that
name a registered transform with arguments it takes)."""
from tasks.common import config as common
from tasks.common.config import ConfigError, deep_merge, dump_config  # noqa: F401 (this module's API)
from tasks.common.validation import validation_problems

from .codecs import CODECS
from .transforms import TRANSFORMS

SCHEMA = "keypoint_config"
PIPELINES = ("train_pipeline", "eval_pipeline")


def tinypose_rules(cfg: dict) -> list:
    """Rules across fields: (key, message) pairs."""
    from tasks.models.registry import architecture_problems

    problems = architecture_problems(cfg, "keypoint")
    joints = cfg["model"]["num_joints"]
    for pair in cfg["model"]["flip_pairs"]:
        if max(pair) >= joints:
            problems.append(("model/flip_pairs", f"pair {pair} names a joint >= num_joints ({joints})"))
    problems += CODECS.problems(cfg["codec"], "codec")
    for name in PIPELINES:
        where = f"data/{name}"
        problems += TRANSFORMS.problems_all(cfg["data"][name], where)
        for i, step in enumerate(cfg["data"][name]):
            for jid in step.get("upper_body_ids", ()):
                if jid >= joints:
                    problems.append((f"{where}/{i}/upper_body_ids", f"joint {jid} >= num_joints ({joints})"))
    milestones = cfg["optimizer"].get("milestones", [])   # cosine has none
    if milestones != sorted(set(milestones)):
        problems.append(("optimizer/milestones", f"{milestones} must be strictly increasing"))
    (iw, ih), (hw, hh) = cfg["model"]["input_size"], cfg["model"]["heatmap_size"]
    if iw * hh != ih * hw:
        problems.append(("model/heatmap_size", f"{[hw, hh]} has not the aspect ratio of input_size {[iw, ih]}"))
    return problems + validation_problems(cfg)


def validate_config(cfg: dict, source="<config>") -> dict:
    """Validate a merged config dict; raise ConfigError naming `source` and every bad key."""
    return common.validate_config(cfg, SCHEMA, tinypose_rules, source)


def load_config(path, overrides=()) -> dict:
    """Read a TinyPose YAML config (resolving `_base_`, applying `overrides`), validate it and return the merged dict."""
    return common.load_config(path, SCHEMA, tinypose_rules, overrides)

"""TinyPose YAML configs: `_base_` inheritance, JSON Schema validation, dumping.

A config may name `_base_: other.yml` (relative to its own folder); its mapping is
deep-merged over the base (mappings merge key by key, everything else replaces).
The merged result is validated against schemas/keypoint_config.schema.json, and a
few cross-field rules the schema cannot express are checked here.
"""
import copy
from pathlib import Path

import jsonschema
import yaml

from tasks.common.atomic import atomic_path

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "keypoint_config.schema.json"


class ConfigError(ValueError):
    """A config file is unreadable or invalid; the message names the file and key."""


def deep_merge(base: dict, override: dict) -> dict:
    """Return `base` updated by `override`; nested mappings merge, other values replace."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _read_with_bases(path: Path, chain: tuple) -> dict:
    if path in chain:
        raise ConfigError(f"{path}: _base_ cycle: {' -> '.join(map(str, chain + (path,)))}")
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as err:
        raise ConfigError(f"{path}: cannot read config ({err.strerror})") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(raw).__name__}")
    base_name = raw.pop("_base_", None)
    if base_name is None:
        return raw
    base = _read_with_bases((path.parent / base_name).resolve(), chain + (path,))
    return deep_merge(base, raw)


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


def _check_semantics(cfg: dict) -> list:
    """Rules across fields: (key, message) pairs."""
    problems = []
    joints = cfg["model"]["num_joints"]
    for pair in cfg["model"]["flip_pairs"]:
        if max(pair) >= joints:
            problems.append(("model.flip_pairs", f"pair {pair} names a joint >= num_joints ({joints})"))
    for jid in cfg["augment"]["upper_body_ids"]:
        if jid >= joints:
            problems.append(("augment.upper_body_ids", f"joint {jid} >= num_joints ({joints})"))
    milestones = cfg["optimizer"]["milestones"]
    if milestones != sorted(set(milestones)):
        problems.append(("optimizer.milestones", f"{milestones} must be strictly increasing"))
    (iw, ih), (hw, hh) = cfg["model"]["input_size"], cfg["model"]["heatmap_size"]
    if iw * hh != ih * hw:
        problems.append(("model.heatmap_size", f"{[hw, hh]} has not the aspect ratio of input_size {[iw, ih]}"))
    return problems


def validate_config(cfg: dict, source="<config>") -> dict:
    """Validate a merged config dict; raise ConfigError naming `source` and every bad key."""
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(cfg), key=lambda e: list(map(str, e.absolute_path)))
    problems = [(_key_path(e), e.message) for e in errors]
    if not problems:
        problems = _check_semantics(cfg)
    if problems:
        lines = "\n".join(f"  {key}: {msg}" for key, msg in problems)
        raise ConfigError(f"{source}: invalid keypoint config ({len(problems)} problem(s)):\n{lines}")
    return cfg


def load_config(path) -> dict:
    """Read a YAML config (resolving `_base_`), validate it and return the merged dict."""
    path = Path(path).resolve()
    return validate_config(_read_with_bases(path, ()), source=path)


def dump_config(cfg: dict, path) -> Path:
    """Write the merged config as YAML (the `config_used.yml` of a run), atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(yaml.safe_dump(cfg, sort_keys=False, default_flow_style=None))
    return Path(path)

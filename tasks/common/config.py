"""Model configs in YAML: `_base_` inheritance, JSON Schema validation, rule checks, dumping.

A config may name `_base_: other.yml` (relative to its own folder); its mapping is
deep-merged over the base (mappings merge key by key; lists and scalars replace, so a
child that changes a pipeline restates the whole list). The merged document is checked
against a schema of schemas/ (tasks.common.schema) and then by the model's own rules
(a function returning (key, message) pairs for what a schema cannot say).
Each model's config module (tasks.keypoint.config, tasks.detection.config) binds its
schema and rules to these functions.
"""
import copy
from pathlib import Path

import yaml

from tasks.common.atomic import atomic_path
from tasks.common.schema import check_schema


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


def read_config(path) -> dict:
    """The merged (not validated) mapping of a YAML config and its `_base_` chain."""
    return _read_with_bases(Path(path).resolve(), ())


def validate_config(cfg: dict, schema: str, rules=None, source="<config>") -> dict:
    """Check `cfg` against schemas/<schema>.schema.json, then `rules(cfg)` -> [(key, message)].

    Raises ConfigError naming `source` and every offending key; returns `cfg`.
    """
    check_schema(cfg, schema, source, error=ConfigError)
    problems = rules(cfg) if rules else []
    if problems:
        lines = "\n".join(f"  {key}: {message}" for key, message in problems)
        raise ConfigError(f"{source}: {len(problems)} problem(s) in the {schema} rules:\n{lines}")
    return cfg


def load_config(path, schema: str, rules=None) -> dict:
    """Read a YAML config (resolving `_base_`), validate it and return the merged dict."""
    path = Path(path).resolve()
    return validate_config(read_config(path), schema, rules, source=path)


def dump_config(cfg: dict, path) -> Path:
    """Write the merged config as YAML (the `config_used.yml` of a run), atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(yaml.safe_dump(cfg, sort_keys=False, default_flow_style=None))
    return Path(path)

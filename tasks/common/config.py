"""Model configs in YAML: `_base_` inheritance, JSON Schema validation, rule checks, dumping.

A config may name `_base_: other.yml` (relative to its own folder); its mapping is
deep-merged over the base (mappings merge key by key; lists and scalars replace, so a
child that changes a pipeline restates the whole list). The merged document is checked
against a schema of schemas/ (tasks.common.schema) and then by the model's own rules
(a function returning (key, message) pairs for what a schema cannot say).
Overrides from a command line (`train.epochs=50`, `data.train_pipeline.1.prob=0.3`) apply
to the merged document before it is checked, so they meet the same schema and rules.
Each model's config module (tasks.keypoint.config, tasks.detection.config) binds its
schema and rules to these functions.
"""
import copy
import re
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


def load_config(path, schema: str, rules=None, overrides=()) -> dict:
    """Read a YAML config (resolving `_base_`), apply `overrides` (``apply_overrides``),
    validate it and return the merged dict."""
    path = Path(path).resolve()
    source = f"{path} with --set {' '.join(overrides)}" if overrides else path
    return validate_config(apply_overrides(read_config(path), overrides, path), schema, rules, source=source)


def apply_overrides(cfg: dict, overrides, source="<config>") -> dict:
    """`cfg` with each ``dotted.key=value`` of `overrides` set; returns a new dict.

    The value is read as YAML (``0.1``, ``true``, ``[128, 160]``, ``null``); a key part that
    is a number indexes a list (``data.train_pipeline.1.prob=0.3``). A missing mapping key is
    created (the schema then says whether it is allowed). ConfigError naming `source` and the
    override when it has no ``=``, its key runs through a value that is not a mapping or list,
    or its list index is out of range.
    """
    cfg = copy.deepcopy(cfg)
    for override in overrides:
        key, sep, text = override.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise ConfigError(f"{source}: override {override!r} is not of the form section.key=value")
        try:
            value = _override_value(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"{source}: override {override!r}: the value is not valid YAML ({err})") from err
        parent = cfg
        for depth, part in enumerate(parts[:-1]):
            parent = _child(parent, part, create=True)
            if parent is None:
                raise _missing(source, override, parts[:depth + 1])
        if _child(parent, parts[-1], create=False) is None and not isinstance(parent, dict):
            raise _missing(source, override, parts)
        parent[int(parts[-1]) if isinstance(parent, list) else parts[-1]] = value
    return cfg


def _child(parent, part: str, create: bool):
    """`parent[part]` for a mapping (a missing key becomes {} when `create`) or a list (a numeric
    `part` in range); None where there is no such place."""
    if isinstance(parent, dict):
        return parent.setdefault(part, {}) if create else parent.get(part)
    if isinstance(parent, list) and part.isdigit() and int(part) < len(parent):
        return parent[int(part)]
    return None


def _missing(source, override, parts) -> ConfigError:
    return ConfigError(f"{source}: override {override!r}: {'.'.join(parts)} does not exist (what is above it "
                       "is neither a mapping nor a list that long)")


_EXPONENT_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _override_value(text: str):
    """An override's value as YAML reads it, except that ``1e-2`` is the number a user means
    (YAML 1.1 reads an exponent without a dot as a string)."""
    text = text.strip()
    return float(text) if _EXPONENT_FLOAT.fullmatch(text) else yaml.safe_load(text)


def add_overrides_argument(parser) -> None:
    """The `--set KEY=VALUE ...` option of a command that loads a model config."""
    parser.add_argument("--set", nargs="+", default=[], dest="overrides", metavar="KEY=VALUE",
                        help="change config values, e.g. --set train.epochs=50 optimizer.base_lr=0.1 "
                             "(values are YAML; checked by the config's schema)")


def config_from_args(parser, load, args) -> dict:
    """`load(args.config, args.overrides)`; a bad file or override ends the command with the
    error's message (argparse's exit status 2), not a traceback."""
    try:
        return load(args.config, args.overrides)
    except ConfigError as err:
        parser.error(str(err))


def dump_config(cfg: dict, path) -> Path:
    """Write the merged config as YAML (the `config_used.yml` of a run), atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(yaml.safe_dump(cfg, sort_keys=False, default_flow_style=None))
    return Path(path)

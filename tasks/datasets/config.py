"""Load and validate the datasets config (configs/datasets.yml).

Errors name the file and the key (`coco/train2017/md5`) and say what is wrong.
The returned dict is the YAML with defaults filled in: `mirrors` ([]),
`filename` (last part of `url`), the official-layout patterns of known archives,
and relative local paths made absolute against the config file's folder.
"""
import copy
import posixpath
import urllib.parse
from pathlib import Path

import jsonschema
import orjson
import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "datasets.schema.json"
MD5_PLACEHOLDER = "fill-in-the-md5-of-your-copy"

#: Patterns of the official archive layouts, used where the config gives none.
DEFAULT_LAYOUTS = {
    ("coco", "train2017"): {"images": "train2017"},
    ("coco", "val2017"): {"images": "val2017"},
    ("coco", "annotations_trainval2017"): {"files": {
        "train": "annotations/person_keypoints_train2017.json",
        "val": "annotations/person_keypoints_val2017.json"}},
    ("aic", "keypoint_train"): {
        "images": "ai_challenger_keypoint_train_20170902/keypoint_train_images_20170902",
        "annotations": "ai_challenger_keypoint_train_20170902/"
                       "keypoint_train_annotations_20170909.json"},
    ("aic", "keypoint_validation"): {
        "images": "ai_challenger_keypoint_validation_20170911/"
                  "keypoint_validation_images_20170911",
        "annotations": "ai_challenger_keypoint_validation_20170911/"
                       "keypoint_validation_annotations_20170911.json"},
}


class DatasetsConfigError(ValueError):
    """The datasets config cannot be read or does not follow its schema."""


def load_datasets_config(path) -> dict:
    """Read, validate and complete the datasets YAML at `path`.

    Returns {group: {archive: {"url", "mirrors", "md5", "filename",
    ["images"], ["annotations"], ["files"]}}}.
    Raises DatasetsConfigError naming the file and every offending key.
    """
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise DatasetsConfigError(f"datasets config {path} does not exist") from None
    except yaml.YAMLError as err:
        raise DatasetsConfigError(f"{path}: not valid YAML: {err}") from err
    schema = orjson.loads(SCHEMA_PATH.read_bytes())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = "\n".join(f"  {_key(e.absolute_path)}: {e.message}" for e in errors)
        raise DatasetsConfigError(f"{path}: {len(errors)} error(s) against {SCHEMA_PATH.name}:\n"
                                  f"{lines}")
    return {group: {name: _complete(path, group, name, entry) for name, entry in archives.items()}
            for group, archives in config.items()}


def archive_urls(entry: dict) -> list:
    """The URLs to try for a config entry: `url`, then its mirrors."""
    return [entry["url"], *entry.get("mirrors", [])]


def _key(parts) -> str:
    return "/".join(map(str, parts)) or "(top level)"


def _complete(path: Path, group: str, name: str, entry: dict) -> dict:
    entry = {**copy.deepcopy(DEFAULT_LAYOUTS.get((group, name), {})), **entry}
    entry["url"] = _absolute_source(path, entry["url"])
    entry["mirrors"] = [_absolute_source(path, m) for m in entry.get("mirrors", [])]
    if "filename" not in entry:
        url_path = urllib.parse.unquote(urllib.parse.urlsplit(entry["url"]).path)
        filename = posixpath.basename(url_path)
        if not filename:
            raise DatasetsConfigError(f"{path}: {group}/{name}/url: {entry['url']!r} does not end "
                                      f"in a file name; add a `filename` key")
        entry["filename"] = filename
    return entry


def _absolute_source(path: Path, source: str) -> str:
    """A plain relative path is taken relative to the config file's folder."""
    if "://" in source:
        return source
    local = Path(source).expanduser()
    return str(local if local.is_absolute() else (path.parent / local).resolve())


__all__ = ["load_datasets_config", "archive_urls", "DatasetsConfigError", "MD5_PLACEHOLDER",
           "DEFAULT_LAYOUTS"]

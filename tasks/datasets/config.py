"""Load and validate the datasets config (configs/datasets.yml).

Errors name the file and the key (`coco/train2017/md5`) and say what is wrong.
The returned dict is the YAML with defaults filled in: `mirrors` ([]),
`filename` (last part of `url`), the official-layout patterns of known archives,
and relative local paths made absolute against the config file's folder.

An entry gives either an archive (`url` and `md5`) or a folder already extracted
on disk (`path`), which the pipeline uses where it is and never writes to.
"""
import copy
import posixpath
import urllib.parse
from pathlib import Path

import yaml

from tasks.common.schema import check_schema
from tasks.datasets.layout import ARCHIVE_LAYOUTS

MD5_PLACEHOLDER = "fill-in-the-md5-of-your-copy"

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
    _check_folder_entries_alone(path, config)
    check_schema(config, "datasets", path, error=DatasetsConfigError)
    return {group: {name: _complete(path, group, name, entry) for name, entry in archives.items()}
            for group, archives in config.items()}


def archive_urls(entry: dict) -> list:
    """The URLs to try for a config entry: `url`, then its mirrors."""
    return [entry["url"], *entry.get("mirrors", [])]


def is_folder_entry(entry: dict) -> bool:
    """True for a dataset folder already on disk (`path`), False for an archive (`url`)."""
    return "path" in entry


#: Keys that only make sense for an archive.
_ARCHIVE_KEYS = ("url", "mirrors", "md5", "filename")


def _check_folder_entries_alone(path: Path, config) -> None:
    """A `path` entry with archive keys is ambiguous: say so before the schema's terser words."""
    for group, archives in config.items() if isinstance(config, dict) else ():
        for name, entry in archives.items() if isinstance(archives, dict) else ():
            extra = [key for key in _ARCHIVE_KEYS if isinstance(entry, dict) and "path" in entry
                     and key in entry]
            if extra:
                raise DatasetsConfigError(
                    f"{path}: {group}/{name}: `path` and `{'`, `'.join(extra)}` together; give "
                    f"either `path` (a folder already extracted on disk, used in place) or `url` "
                    f"and `md5` (an archive to fetch and extract), not both")


def _complete_folder(path: Path, group: str, name: str, entry: dict) -> dict:
    folder = Path(_absolute_source(path, entry["path"]))
    if not folder.is_dir():
        what = "is a file, not a folder (give an archive as `url`)" if folder.is_file() else "does not exist"
        raise DatasetsConfigError(f"{path}: {group}/{name}/path: {folder} {what}")
    return {**entry, "path": str(folder)}


def _complete(path: Path, group: str, name: str, entry: dict) -> dict:
    entry = {**copy.deepcopy(ARCHIVE_LAYOUTS.get((group, name), {})), **entry}
    if is_folder_entry(entry):
        return _complete_folder(path, group, name, entry)
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


__all__ = ["load_datasets_config", "archive_urls", "is_folder_entry", "DatasetsConfigError", "MD5_PLACEHOLDER"]

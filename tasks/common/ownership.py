"""Which output paths the pipeline wrote itself, so it never replaces anything else.

A node may replace (and so delete) an output path only when it wrote that path
earlier. Each node keeps a record of the paths it claims, `.<name>.owned.json`
beside its manifest, written before anything is placed and kept when the
manifest is deleted or a run is killed; the manifest's own `paths` count too
(data roots written before the record existed). A path is the node's when one
of them lists it *and* it is still of the recorded kind: a user's folder put
where the node's link was is not the node's.
"""
from pathlib import Path

import orjson

from tasks.common.atomic import write_json


class ForeignOutputError(FileExistsError):
    """An output path holds something the pipeline did not write; nothing was touched."""


def record_path(manifest_path) -> Path:
    """The ownership record of the node whose manifest is `manifest_path`."""
    manifest_path = Path(manifest_path)
    return manifest_path.with_name(f".{manifest_path.name.removesuffix('.manifest.json')}.owned.json")


def path_kind(path):
    """"link", "dir", "file", or None when nothing is at `path` (not even a dangling link)."""
    path = Path(path)
    if path.is_symlink():
        return "link"
    if path.is_dir():
        return "dir"
    return "file" if path.exists() else None


def owned_paths(manifest_path) -> dict:
    """{path string: recorded kind or None} of what this node's record and manifest list."""
    owned = _read(record_path(manifest_path)).get("paths", {})
    manifest = _read(manifest_path)
    for name, path in manifest.get("paths", {}).items():
        owned.setdefault(path, manifest.get("outputs", {}).get(name, {}).get("kind"))
    return owned


def foreign_outputs(paths, manifest_path) -> list:
    """The paths of `paths` that hold something this node did not write."""
    owned = owned_paths(manifest_path)
    foreign = []
    for path in map(Path, paths):
        kind = path_kind(path)
        if kind is None:
            continue
        if str(path) not in owned or owned[str(path)] not in (None, kind):
            foreign.append(path)
    return foreign


def claim(paths, manifest_path) -> None:
    """Record `paths` as this node's before it writes them (their kind is not known yet)."""
    owned = owned_paths(manifest_path)
    for path in map(str, paths):
        owned.setdefault(path, None)
    write_json(record_path(manifest_path), {"paths": owned}, indent=True)


def record_kinds(paths, manifest_path) -> None:
    """Record the kind each of `paths` has now that this node wrote them."""
    owned = owned_paths(manifest_path)
    owned.update({str(path): path_kind(path) for path in paths})
    write_json(record_path(manifest_path), {"paths": owned}, indent=True)


def _read(path) -> dict:
    try:
        value = orjson.loads(Path(path).read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


__all__ = ["ForeignOutputError", "record_path", "path_kind", "owned_paths", "foreign_outputs", "claim",
           "record_kinds"]

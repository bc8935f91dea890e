"""Find the annotation files and image folders inside an extracted archive by glob patterns.

Patterns come from the datasets config (`images`, `annotations`, `files`), are
relative to the extracted folder and may contain `*`, `?`, `[...]` and `**`.
Each must match exactly one path, so a moved or duplicated folder is an error
that names the pattern and what was found instead of a silent wrong pick. The
pattern `.` is the folder itself (a dataset folder on disk that holds the images).
"""
import os
from pathlib import Path, PurePosixPath

#: Entry keys of the datasets config that hold patterns, and what each must match.
PATTERN_KEYS = {"images": "dir", "annotations": "file"}
_SHOWN = 5


class LocateError(FileNotFoundError):
    """A pattern matched no path, or more than one, inside an extracted archive."""


def locate(root, pattern: str, *, kind: str | None = None) -> Path:
    """The one path under `root` that matches the glob `pattern`.

    kind: "file" or "dir" to consider only regular files or only folders.
    Raises LocateError when zero or several paths match.
    """
    root = Path(root)
    if kind not in (None, "file", "dir"):
        raise ValueError(f"kind must be 'file', 'dir' or None, not {kind!r}")
    rel = PurePosixPath(pattern)
    if not pattern or rel.is_absolute() or ".." in rel.parts:
        raise LocateError(f"pattern {pattern!r} must be relative to the extracted folder {root} "
                          f"and must not contain '..'")
    if not root.is_dir():
        raise LocateError(f"{root} is not a folder (looking for {pattern!r})")
    if pattern == "." and kind != "file":
        return root
    matches = sorted(p for p in root.glob(pattern)
                     if kind is None or (p.is_file() if kind == "file" else p.is_dir()))
    what = {"file": "file", "dir": "folder", None: "path"}[kind]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        top = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
        raise LocateError(f"no {what} under {root} matches {pattern!r}; its top level holds: "
                          f"{_listing(top)}. Fix the pattern in the datasets config.")
    raise LocateError(f"{len(matches)} {what}s under {root} match {pattern!r}, expected one: "
                      f"{_listing([str(p.relative_to(root)) for p in matches])}. "
                      f"Make the pattern in the datasets config more specific.")


def locate_entry(root, entry: dict) -> dict:
    """Resolve every pattern of a datasets-config entry under the extracted folder `root`.

    Returns {"images": Path, "annotations": Path, "files": {name: Path}},
    holding only the keys that the entry has.
    """
    found = {key: locate(root, entry[key], kind=kind)
             for key, kind in PATTERN_KEYS.items() if key in entry}
    if "files" in entry:
        found["files"] = {name: locate(root, pattern, kind="file")
                          for name, pattern in entry["files"].items()}
    return found


def _listing(names: list) -> str:
    if not names:
        return "(nothing)"
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more


def link_folder(target, link) -> None:
    """A symbolic link at `link` to the folder `target` (kept relative when `target` is given so)."""
    Path(link).symlink_to(target, target_is_directory=True)


__all__ = ["locate", "locate_entry", "link_folder", "LocateError"]


def unpack_and_locate(archive, folder, entry: dict, *, final_folder=None, image_link=None) -> dict:
    """Extract `archive` into `folder`, check the entry's layout there (fails early on a
    wrong one) and, with `image_link`, link the image folder where merged file names
    expect it. The link is relative and points into `final_folder` (where `folder` will
    be once renamed into place; default `folder`).

    Returns the entry's located paths relative to `folder` ({"images": ..., "files": {...}}).
    """
    from tasks.datasets.extract import extract
    folder = Path(folder)
    extract(archive, folder)
    found = locate_entry(folder, entry)
    if image_link is not None:
        target = Path(final_folder or folder) / found["images"].relative_to(folder)
        link_folder(os.path.relpath(target, Path(image_link).parent), image_link)

    def relative(path):
        return str(path.relative_to(folder))
    return {key: {name: relative(p) for name, p in value.items()} if key == "files" else relative(value)
            for key, value in found.items()}

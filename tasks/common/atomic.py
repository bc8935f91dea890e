"""Atomic writes: a killed process never leaves a target that looks complete.

Everything is written under a temporary name in the destination folder and
renamed into place only after it was written completely (rename is atomic
within one file system). Temporary names keep the target's name last
(`.tmp-<pid>-<hex>-<name>`), so writers that pick a format from the suffix
(`.png`, `.json`) still work, and carry the writer's pid, so the leftovers of a
killed run can be told from a live writer's files and removed.
"""
import contextlib
import os
import re
import shutil
import uuid
from pathlib import Path

import orjson

from tasks.common.diskspace import naming_path

_TEMPORARY_PREFIX = re.compile(r"\.(?:tmp|old)-(\d+)-(?:[0-9a-f]{8}-)?")


def temporary_name(path) -> Path:
    """A fresh temporary path beside `path`, ending in `path`'s own name."""
    path = Path(path)
    return path.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}-{path.name}")


def remove_path(path) -> None:
    """Remove a file, a link or a folder tree, if it exists."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def replace_path(src, dst) -> None:
    """Move `src` onto `dst`; an existing folder `dst` is renamed away first and
    deleted only after the new one is in place, so `dst` is never half-deleted."""
    src, dst = Path(src), Path(dst)
    if not (dst.is_dir() and not dst.is_symlink()):
        os.replace(src, dst)
        return
    old = dst.with_name(f".old-{os.getpid()}-{dst.name}")
    os.replace(dst, old)
    try:
        os.replace(src, dst)
    except BaseException:
        os.replace(old, dst)
        raise
    remove_path(old)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _leftover_of(name: str):
    """(writer pid, target name) of a temporary name, else None. Names can nest: a
    node stages into a temporary path and the work function writes atomically there."""
    pid = None
    while match := _TEMPORARY_PREFIX.match(name):
        pid = pid or int(match.group(1))
        name = name[match.end():]
    return (pid, name) if pid else None


def remove_stale_tmp(path) -> None:
    """Remove temporaries beside `path` left by processes that were killed.

    Only temporary names of `path` whose process id no longer runs are removed;
    a live writer's temporary is kept.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return
    for entry in path.parent.iterdir():
        leftover = _leftover_of(entry.name)
        if leftover and leftover[1] == path.name and not _pid_alive(leftover[0]):
            remove_path(entry)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary file path beside `path`; rename it onto `path` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        with naming_path(path):  # a full disk names the file, not just errno 28
            yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path):
    """Yield a temporary folder beside `path`; it replaces `path` on success.

    Temporaries of killed earlier runs are removed on entry.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_tmp(path)
    tmp = temporary_name(path)
    tmp.mkdir()
    try:
        with naming_path(path):
            yield tmp
        replace_path(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path, obj, indent=False):
    """Write `obj` as JSON atomically (orjson; numpy scalars and arrays allowed)."""
    option = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    if indent:
        option |= orjson.OPT_INDENT_2
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(orjson.dumps(obj, option=option))
    return Path(path)

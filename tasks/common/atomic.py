"""Atomic writes: a killed process never leaves a target that looks complete.

Everything is written under a temporary name in the destination folder and
renamed into place only after it was written completely (rename is atomic
within one file system).
"""
import contextlib
import os
import shutil
import uuid
from pathlib import Path

import orjson


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary file path beside `path`; rename it onto `path` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_stale_tmp(path) -> None:
    """Remove temporaries beside `path` left by processes that were killed.

    Only names made by `_tmp_name` (or `atomic_dir`'s `.old-` names) whose
    process id no longer runs are removed; a live writer's temporary is kept.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return
    prefixes = (f".{path.name}.tmp-", f".{path.name}.old-")
    for stale in path.parent.iterdir():
        prefix = next((p for p in prefixes if stale.name.startswith(p)), None)
        if prefix is None:
            continue
        pid = stale.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            _remove(stale)


@contextlib.contextmanager
def atomic_dir(path):
    """Yield a temporary folder beside `path`; it replaces `path` on success.

    An existing `path` is first renamed away, the new folder renamed in, and
    only then is the old one deleted, so `path` is never a half-deleted or
    half-written folder, even if the process is killed at any point.
    Temporaries of killed earlier runs are removed on entry.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_tmp(path)
    tmp = _tmp_name(path)
    tmp.mkdir()
    try:
        yield tmp
        old = None
        if path.exists() or path.is_symlink():
            old = path.with_name(f".{path.name}.old-" + tmp.name[len(f".{path.name}.tmp-"):])
            os.replace(path, old)
        try:
            os.replace(tmp, path)
        except BaseException:
            if old is not None:
                os.replace(old, path)
            raise
        if old is not None:
            _remove(old)
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

"""MD5 of large files, computed once and then trusted by size and mtime.

The digest is cached in a sidecar JSON beside the file (`.<name>.md5.json`)
holding the file's size and mtime_ns at hashing time; a later call on the
unchanged file reads the sidecar instead of the file, so it is instant.
"""
import hashlib
import os
from pathlib import Path

import orjson
from tasks.common.logs import progress_bar

from tasks.common.atomic import write_json

#: Files smaller than this are hashed without a progress bar.
PROGRESS_MIN_BYTES = 64 << 20


def sidecar_path(path) -> Path:
    """The cache file that holds `path`'s md5: `.<name>.md5.json` in the same folder."""
    path = Path(path)
    return path.with_name(f".{path.name}.md5.json")


def _stamp(st: os.stat_result) -> dict:
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def cached_md5(path):
    """The cached md5 of `path` if its sidecar matches the file's size and mtime, else None."""
    path = Path(path)
    try:
        cached = orjson.loads(sidecar_path(path).read_bytes())
        stamp = _stamp(path.stat())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(cached, dict) or {k: cached.get(k) for k in stamp} != stamp:
        return None
    return cached.get("md5")


def record_md5(path, md5: str) -> None:
    """Store `md5` as the digest of `path` as it is now (size, mtime_ns).

    A folder we cannot write to (an archive on read-only media) only costs a
    re-hash next time, so that failure is ignored.
    """
    path = Path(path)
    entry = {"md5": md5, **_stamp(path.stat())}
    try:
        write_json(sidecar_path(path), entry)
    except OSError:
        pass


def file_md5(path, *, chunk: int = 1 << 20, progress: bool = True) -> str:
    """Hex md5 of `path`, from the sidecar cache when the file is unchanged.

    The first call reads the whole file (with a progress bar for large files) and
    writes the sidecar; later calls on the same size and mtime return at once.
    """
    path = Path(path)
    md5 = cached_md5(path)
    if md5 is not None:
        return md5
    before = path.stat()
    md5 = md5_of(path, chunk=chunk, progress=progress)
    if _stamp(path.stat()) == _stamp(before):  # not rewritten while we read it
        record_md5(path, md5)
    return md5


def md5_of(path, *, chunk: int = 1 << 20, progress: bool = True) -> str:
    """Hex md5 of `path`, read in full (a progress bar for large files); nothing is cached."""
    path = Path(path)
    size = path.stat().st_size
    digest = hashlib.md5()
    with open(path, "rb") as f, progress_bar(
        total=size, unit="B", unit_scale=True, unit_divisor=1024,
        desc=f"md5 {path.name}", enabled=progress and size >= PROGRESS_MIN_BYTES,
    ) as bar:
        while block := f.read(chunk):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()

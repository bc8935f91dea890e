"""Byte-reproducible zip archives: sorted entries, fixed timestamps and permissions."""
import hashlib
import io
import zipfile
from pathlib import Path, PurePosixPath

from tasks.common.atomic import atomic_path

ZIP_DATE = (2017, 9, 1, 0, 0, 0)
_STORED_SUFFIXES = {".jpg", ".jpeg", ".png"}  # already compressed


def _parents(names):
    dirs = set()
    for name in names:
        for parent in PurePosixPath(name).parents:
            if str(parent) != ".":
                dirs.add(f"{parent}/")
    return dirs


def zip_bytes(members):
    """A zip of `members` {archive name: bytes}, with their folders as entries, as bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in sorted(_parents(members) | set(members)):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3  # Unix, so the permission bits below are read
            if name.endswith("/"):
                info.external_attr = (0o40755 << 16) | 0x10
                zf.writestr(info, b"")
                continue
            info.external_attr = 0o100644 << 16
            stored = PurePosixPath(name).suffix.lower() in _STORED_SUFFIXES
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            zf.writestr(info, members[name], compresslevel=None if stored else 6)
    return buffer.getvalue()


def write_if_changed(path, data):
    """Write `data` to `path` atomically unless the file already holds exactly these bytes.

    Leaving an identical file untouched keeps its mtime, so a regenerated sample
    does not look new to size-and-mtime caches. Returns the md5 of `data`.
    """
    path = Path(path)
    if not (path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data):
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    return hashlib.md5(data).hexdigest()

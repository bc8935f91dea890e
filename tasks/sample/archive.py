"""Byte-reproducible zip archives: sorted entries, fixed timestamps and permissions."""
import hashlib
import zipfile
from pathlib import PurePosixPath

ZIP_DATE = (2017, 9, 1, 0, 0, 0)
_STORED_SUFFIXES = {".jpg", ".jpeg", ".png"}  # already compressed


def _parents(names):
    dirs = set()
    for name in names:
        for parent in PurePosixPath(name).parents:
            if str(parent) != ".":
                dirs.add(f"{parent}/")
    return dirs


def write_zip(path, members):
    """Write `members` {archive name: bytes} to `path`, with their folders as entries."""
    with zipfile.ZipFile(path, "w") as zf:
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
    return path


def md5sum(path, chunk=1 << 20):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()

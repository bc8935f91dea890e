"""Content fingerprints used by the manifests."""
import hashlib
import os
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_record(path) -> dict:
    """{"sha256", "size"} of a file."""
    return {"sha256": sha256_file(path), "size": Path(path).stat().st_size}


def describe_output(path) -> dict:
    """What a manifest records about one output: enough to notice it changed.

    Files get their sha256 (computed once, when written); later checks trust size
    and mtime, so a no-op re-run never rereads large files. A folder (an extracted
    archive) gets its file count and total size, a symbolic link its target.
    """
    path = Path(path)
    if path.is_symlink():  # a link to a folder recorded elsewhere: its target is enough
        return {"kind": "link", "target": os.readlink(path)}
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file()]
        return {"kind": "dir", "files": len(files),
                "size": sum(p.stat().st_size for p in files),
                "mtime_ns": path.stat().st_mtime_ns}
    stat = path.stat()
    return {"kind": "file", "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "sha256": sha256_file(path)}


def still_matches(path, recorded: dict) -> bool:
    """Cheap check that an output is still the one a manifest recorded."""
    path = Path(path)
    if recorded.get("kind") == "link":
        return path.is_symlink() and os.readlink(path) == recorded["target"]
    if recorded.get("kind") == "dir":
        return path.is_dir() and path.stat().st_mtime_ns == recorded["mtime_ns"]
    try:
        stat = path.stat()
    except FileNotFoundError:
        return False
    return stat.st_size == recorded["size"] and stat.st_mtime_ns == recorded["mtime_ns"]

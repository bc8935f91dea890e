"""Content fingerprints used by the manifests and of dataset folders used in place."""
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


def folder_fingerprint(folder) -> dict:
    """A dataset folder used where it is (not written by the pipeline): its file count, total
    size and the sha256 of the sorted list of every file's relative name, size and mtime_ns.

    One stat per file and no reads, so a folder of 330k images is fingerprinted in seconds
    (docs/data.md); any file added, removed, renamed, resized or rewritten (a new mtime, even
    at the same size) changes it.
    """
    folder = Path(folder)
    lines, size = [], 0
    for relative, stat in _walk_files(folder, ""):
        lines.append(f"{relative}\t{stat.st_size}\t{stat.st_mtime_ns}")
        size += stat.st_size
    lines.sort()
    return {"files": len(lines), "size": size, "listing_sha256": sha256_bytes("\n".join(lines).encode())}


def _walk_files(folder: Path, prefix: str):
    """(relative name, stat) of every file below `folder`, following no links below it."""
    with os.scandir(folder) as entries:
        for entry in entries:
            relative = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                yield from _walk_files(Path(entry.path), relative + "/")
            elif entry.is_file():
                yield relative, entry.stat()


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

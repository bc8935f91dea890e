"""sha256 of every file a data root's deploy nodes wrote: export/, onnx/, lite/ (no manifests or
ownership records, which hold paths and times). Two runs of the same weights compare with diff:

    python tools/export_digests.py data/demo > after.txt && diff before.txt after.txt
"""
import hashlib
import sys
from pathlib import Path

FOLDERS = ("export", "onnx", "lite")


def digests(root):
    """[(sha256, path relative to root)] sorted by path."""
    root = Path(root)
    files = sorted(path for folder in FOLDERS for path in (root / folder).rglob("*")
                   if path.is_file() and not path.name.startswith(".") and not path.name.endswith(".manifest.json"))
    return [(hashlib.sha256(path.read_bytes()).hexdigest(), path.relative_to(root).as_posix()) for path in files]


if __name__ == "__main__":
    for digest, name in digests(sys.argv[1]):
        print(f"{digest}  {name}")

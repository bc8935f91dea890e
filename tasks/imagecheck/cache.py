"""Each file's check kept across runs, keyed by (name, size, mtime): when a list changes a
little, only the images not checked before (or changed since) are decoded again.

One JSON file: {"decoder": ..., "files": {name: [size, mtime_ns, reason, detail, width,
height]}}. Results of another decoder version are not reused. It is saved atomically, also
every `SAVE_EVERY` new results, so a killed run keeps what it decoded.
"""
from pathlib import Path

import orjson

from tasks.common.atomic import write_json
from tasks.imagecheck.decode import DECODER, FileCheck

SAVE_EVERY = 20000


class CheckCache:
    def __init__(self, path):
        self.path = Path(path)
        self.files = {}
        self.unsaved = 0
        try:
            stored = orjson.loads(self.path.read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return
        if isinstance(stored, dict) and stored.get("decoder") == DECODER:
            self.files = stored.get("files", {})

    def get(self, name: str, size: int, mtime_ns: int):
        """The cached check of `name` if the file still has this size and mtime, else None."""
        entry = self.files.get(name)
        if entry is None or entry[0] != size or entry[1] != mtime_ns:
            return None
        return FileCheck(*entry[2:])

    def put(self, name: str, size: int, mtime_ns: int, check: FileCheck):
        self.files[name] = [size, mtime_ns, *check]
        self.unsaved += 1
        if self.unsaved >= SAVE_EVERY:
            self.save()

    def save(self):
        write_json(self.path, {"decoder": DECODER, "files": self.files})
        self.unsaved = 0


__all__ = ["CheckCache", "SAVE_EVERY"]

"""Training checkpoints, kept per signature: out_dir/checkpoints/<signature[:16]>/epoch_NNNN.pdckpt.

A signature is a digest of everything the trained weights are a function of (config,
inputs, code), given by the caller. Each signature has its own folder, so a run that was
interrupted under one signature resumes when that signature comes back, even when another
variant trained into the same out_dir in between. Each folder keeps its newest `keep`
checkpoints; at most `keep_signatures` folders are kept, the least recently used removed
first. A folder records its full signature (`signature.txt`; its mtime is the last use).
"""
import os
import re
import shutil
import time
from pathlib import Path

import paddle

from tasks.common.atomic import atomic_path

CHECKPOINT_RE = re.compile(r"^epoch_(\d{4,})\.pdckpt$")
SIGNATURE_FILE = "signature.txt"
SIGNATURE_PREFIX = 16


def list_checkpoints(folder: Path) -> list:
    """Checkpoint files of one signature folder, oldest epoch first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := CHECKPOINT_RE.match(p.name))]
    return [p for _, p in sorted(found)]


class CheckpointStore:
    """The checkpoints of one signature under `root` (out_dir/checkpoints)."""

    def __init__(self, root, signature: str, keep: int, keep_signatures: int):
        if not signature or not re.fullmatch(r"[0-9A-Za-z_-]+", signature):
            raise ValueError(f"training signature {signature!r}: expected a non-empty digest (letters, digits, _ -)")
        self.root = Path(root)
        self.signature = signature
        self.folder = self.root / signature[:SIGNATURE_PREFIX]
        self.keep, self.keep_signatures = int(keep), int(keep_signatures)

    def latest(self):
        """Newest checkpoint of this signature, or None (also when the folder belongs to
        another signature with the same prefix)."""
        if not self._owned():
            return None
        found = list_checkpoints(self.folder)
        return found[-1] if found else None

    def claim(self, clear=False):
        """Make this signature's folder the most recently used one and prune the others
        to `keep_signatures` folders (writer process only). clear: drop this signature's
        checkpoints too (a run that does not resume)."""
        if self.folder.exists() and (clear or not self._owned()):
            shutil.rmtree(self.folder)   # not resumed, or a prefix collision with another signature
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.folder / SIGNATURE_FILE) as tmp:
            Path(tmp).write_text(self.signature)
        others = sorted((p for p in self.root.iterdir() if p.is_dir() and p != self.folder
                         and (p / SIGNATURE_FILE).is_file()), key=_last_used, reverse=True)
        # this use is the newest, strictly (file times can be coarser than the gap between two uses)
        now = max([time.time_ns()] + [_last_used(p) + 1 for p in others])
        os.utime(self.folder / SIGNATURE_FILE, ns=(now, now))
        for stale in others[max(self.keep_signatures - 1, 0):]:
            shutil.rmtree(stale)

    def save(self, state: dict, epoch: int) -> Path:
        """Write `state` atomically as epoch_NNNN.pdckpt, then keep the newest `keep`."""
        path = self.folder / f"epoch_{epoch:04d}.pdckpt"
        with atomic_path(path) as tmp:
            paddle.save(state, str(tmp))
        for old in list_checkpoints(self.folder)[:-self.keep]:
            old.unlink()
        return path

    def _owned(self) -> bool:
        marker = self.folder / SIGNATURE_FILE
        return marker.is_file() and marker.read_text() == self.signature


def _last_used(folder: Path) -> int:
    return (folder / SIGNATURE_FILE).stat().st_mtime_ns

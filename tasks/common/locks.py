"""Exclusive per-node locks between processes (two commands on one data root).

An advisory `flock` on a file: the OS releases it when the holder dies, so a killed
run never leaves a node locked.
"""
import contextlib
import fcntl
import os
from pathlib import Path


@contextlib.contextmanager
def exclusive_lock(path, on_wait=None):
    """Hold an exclusive lock on `path` (created if needed) for the `with` block.

    When another process holds it, `on_wait()` is called once, then this waits."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock

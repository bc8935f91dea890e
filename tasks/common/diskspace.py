"""Disk-full errors that say where: the folder, the bytes needed and the bytes free.

`require_free` is the check before a large write (an extraction, a download);
`naming_path` turns an ENOSPC raised while writing into an error that names the
file being written, which the bare `OSError: [Errno 28]` does not.
"""
import contextlib
import errno
import shutil
from pathlib import Path


class DiskFullError(OSError):
    """Not enough free space to write a path (errno ENOSPC); the message says where."""

    def __init__(self, message: str):
        super().__init__(errno.ENOSPC, message)

    def __str__(self):
        return self.strerror


def free_bytes(folder) -> int:
    """Free bytes on the file system of `folder` (or of its nearest existing parent)."""
    folder = Path(folder).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def require_free(folder, needed: int, what: str) -> None:
    """Raise DiskFullError when `folder` has fewer than `needed` bytes free for `what`."""
    free = free_bytes(folder)
    if free < needed:
        raise DiskFullError(f"not enough free space in {folder} for {what}: {_size(needed)} needed, "
                            f"{_size(free)} free; free {_size(needed - free)} or more, or point "
                            f"data_root at a larger disk")


@contextlib.contextmanager
def naming_path(path):
    """Re-raise an ENOSPC of the block as a DiskFullError naming `path` and the free space."""
    try:
        yield
    except DiskFullError:
        raise
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
        raise DiskFullError(f"disk full while writing {path} ({_size(free_bytes(Path(path).parent))} "
                            f"free on its file system now)") from err


def _size(count: int) -> str:
    return f"{count} bytes ({count / 1e9:.2f} GB)"


__all__ = ["DiskFullError", "free_bytes", "require_free", "naming_path"]

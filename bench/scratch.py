"""The scratch folder of a bench that writes a large workload: removed at the end unless kept."""
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch_folder(prefix: str, parent=None, keep: bool = False):
    """A new folder under ``parent`` (the system's temporary folder by default), removed when
    the block ends, or kept (and named on stderr) when ``keep``."""
    work = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield work
    finally:
        if keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

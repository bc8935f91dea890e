"""The ``--out`` folder of ``tinypose-infer``: it writes only over files it wrote itself.

``claim(out_dir, names)`` is called before anything is written. It refuses (MediaError naming the
file and suggesting another ``--out``) when one of ``names`` exists in ``out_dir`` and is not
listed in the folder's record ``.tinypose-infer.json``; otherwise it adds ``names`` to the
record, so a later run into the same folder may replace them. The record is written before the
outputs, so a run killed half-way still owns what it started to write.
"""
import json
from pathlib import Path

from tasks.app.media import MediaError
from tasks.common.atomic import write_json

RECORD = ".tinypose-infer.json"


def _owned(out_dir: Path) -> set:
    try:
        return set(json.loads((out_dir / RECORD).read_text())["written"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return set()


def claim(out_dir, names, *more):
    """Make ``out_dir`` (created if needed) ready for files ``names`` (and ``more``); MediaError when
    it is a file or would replace a file this command did not write."""
    out_dir, names = Path(out_dir), [*names, *more]
    if out_dir.exists() and not out_dir.is_dir():
        raise MediaError(f"--out {out_dir} is a file; give a folder (it is created if missing)")
    owned = _owned(out_dir)
    foreign = [name for name in names if name not in owned and (out_dir / name).exists()]
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise MediaError(f"--out {out_dir} holds {shown}, not written by tinypose-infer: it would be replaced; "
                         f"choose another --out (e.g. {out_dir / 'tinypose'})")
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / RECORD, {"written": sorted(owned | set(names))}, indent=True)

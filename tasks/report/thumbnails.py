"""Report thumbnails: small JPEGs named by a hash of what they show, rendered in parallel.

A thumbnail's name is the sha256 of its drawing spec (tasks.report.drawing) and of its
image file's size and mtime, so the same picture of the same records keeps its name
across runs. A build renders into a fresh folder: thumbnails the previous build already
has are hard-linked from there (nothing is decoded), only new ones are drawn, and those
the report no longer shows are not carried over.
"""
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import cv2
import orjson

from tasks.annotations.imagesize import image_size
from tasks.common.fingerprint import sha256_bytes
from tasks.report.drawing import THUMB_HEIGHT, render

__all__ = ["Thumbnails"]

JPEG_QUALITY = 80
DRAWING_VERSION = 2       # bump when drawing.py changes what a spec looks like
_REDUCED = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}


class Thumbnails:
    """The thumbnails of one build: `add(spec)` names one, `render(out, previous)` writes them."""

    def __init__(self, folders, subfolder="thumbs"):
        self.folders, self.subfolder = folders, subfolder
        self.specs = {}

    def add(self, spec: dict) -> str:
        """The thumbnail's path relative to the report folder. `spec["image"]` is a file name
        the image folders accepted, or None with `spec["why"]`."""
        stat = None
        if spec.get("image") is not None:
            info = self.folders.path(spec["image"]).stat()
            stat = [info.st_size, info.st_mtime_ns]
        key = orjson.dumps({"spec": spec, "stat": stat, "version": DRAWING_VERSION},
                           option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
        name = f"{sha256_bytes(key)[:24]}.jpg"
        self.specs[name] = spec
        return f"{self.subfolder}/{name}"

    def render(self, out_dir, previous_dir=None, workers=None, on_progress=None) -> dict:
        """Write every added thumbnail into `out_dir`; returns {"reused", "rendered"}."""
        out_dir, previous = Path(out_dir), Path(previous_dir) if previous_dir else None
        out_dir.mkdir(parents=True, exist_ok=True)
        todo = []
        for name, spec in self.specs.items():
            if previous is not None and (previous / name).is_file():
                _link_or_copy(previous / name, out_dir / name)
            else:
                todo.append((name, spec))
        jobs = [(str(out_dir / name), spec, self._path(spec)) for name, spec in todo]
        workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
        if workers == 1:
            for job in jobs:
                _render_one(job)
        else:
            with ProcessPoolExecutor(workers, mp_context=get_context("fork"),
                                     initializer=cv2.setNumThreads, initargs=(1,)) as pool:
                for done, _ in enumerate(pool.map(_render_one, jobs, chunksize=16), start=1):
                    if on_progress and done % 200 == 0:
                        on_progress(done, len(jobs))
        return {"reused": len(self.specs) - len(todo), "rendered": len(todo)}

    def _path(self, spec):
        return None if spec.get("image") is None else str(self.folders.path(spec["image"]))


def _link_or_copy(src: Path, dst: Path):
    try:
        os.link(src, dst)
    except OSError:   # another file system, or links not allowed
        shutil.copy2(src, dst)


def _render_one(job):
    out_path, spec, image_path = job
    image, reduction = _read(image_path, full=spec["kind"] == "error")
    thumb = render(spec, image, reduction)
    ok, data = cv2.imencode(".jpg", thumb, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError(f"cannot encode the thumbnail of {image_path}")
    Path(out_path).write_bytes(data.tobytes())


def _read(path, full):
    """(BGR image or None, original pixels per decoded pixel). Pictures much larger than a
    thumbnail are decoded at 1/2, 1/4 or 1/8 size (JPEG's cheap reduced decoding)."""
    if path is None:
        return None, 1.0
    try:
        height = image_size(path)[1]
    except (OSError, ValueError):
        return None, 1.0
    factor = 1
    while not full and factor < 8 and height // (2 * factor) >= THUMB_HEIGHT:
        factor *= 2
    image = cv2.imread(path, _REDUCED.get(factor, cv2.IMREAD_COLOR))
    if image is None:
        return None, 1.0
    return image, height / image.shape[0]

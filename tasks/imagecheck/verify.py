"""A COCO keypoint list with every image it names checked: the list without the bad images
(and their annotations), a report that names each rejected file and why, and a CSV of them.

The files are decoded in parallel, one process per core; a file whose (name, size, mtime)
is in the cache is not decoded again.
"""
import csv
import multiprocessing
import os
import time
from collections import Counter
from pathlib import Path

from tasks.annotations.validate import gc_paused, load_json, validate_document
from tasks.common.atomic import write_json
from tasks.imagecheck.cache import CheckCache
from tasks.imagecheck.decode import (EMPTY, MISSING, SIZE_DIFFERS, UNREADABLE, FileCheck, check_file,
                                     size_problem)

PARALLEL_MIN = 64      # fewer files to decode than this: decode them in this process
CHUNK = 16             # files per hand-out to a worker process
REJECTION_FIELDS = ("file_name", "image_id", "reason", "annotations", "detail")


def _stat_check(path: Path):
    """(FileCheck, None) when the file's stat already decides, else (None, (size, mtime_ns))."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return FileCheck(MISSING, "no such file"), None
    except OSError as err:
        return FileCheck(UNREADABLE, f"{type(err).__name__}: {err.strerror or err}"), None
    if stat.st_size == 0:
        return FileCheck(EMPTY, "the file is empty"), None
    return None, (stat.st_size, stat.st_mtime_ns)


def _decode_all(paths: list, processes: int):
    """check_file over `paths`, in order, on `processes` worker processes."""
    if processes <= 1 or len(paths) < PARALLEL_MIN:
        yield from map(check_file, paths)
        return
    # spawn: the caller may hold threads (Luigi) or Paddle, which fork would copy half-way
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        yield from pool.imap(check_file, paths, chunksize=CHUNK)


def check_images(images: list, image_root, cache: CheckCache, processes: int = 0, progress=None):
    """One FileCheck per image record (by `file_name` under `image_root`) and the number decoded."""
    image_root = Path(image_root)
    checks, to_decode = [None] * len(images), []
    for index, image in enumerate(images):
        path = image_root / image["file_name"]
        checks[index], key = _stat_check(path)
        if key is not None:
            checks[index] = cache.get(image["file_name"], *key)
            if checks[index] is None:
                to_decode.append((index, path, key))
    processes = processes or os.cpu_count() or 1
    started = time.perf_counter()
    for done, ((index, path, key), check) in enumerate(
            zip(to_decode, _decode_all([item[1] for item in to_decode], processes)), 1):
        checks[index] = check
        cache.put(images[index]["file_name"], *key, check)
        if progress and (done % 2000 == 0 or done == len(to_decode)):
            progress(done, len(to_decode), time.perf_counter() - started)
    cache.save()
    return checks, len(to_decode)


def _rejection(image: dict, check: FileCheck, annotations: int) -> dict:
    detail = size_problem(check, image["width"], image["height"])
    reason = SIZE_DIFFERS if detail else check.reason
    return {"file_name": image["file_name"], "image_id": image["id"], "reason": reason,
            "annotations": annotations, "detail": detail or check.detail}


def _write_rejections_csv(path, rejections):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=REJECTION_FIELDS)
        writer.writeheader()
        writer.writerows(rejections)


def verify_list(annotation_json, image_root, out: dict, cache_path, processes: int = 0, progress=None) -> dict:
    """Check every image of `annotation_json` (file_name relative to `image_root`).

    out: paths for "verified" (the COCO list without the rejected images and their
    annotations), "report" (JSON) and "rejections" (CSV). Returns the report plus
    "decoded" (files decoded by this call; the others came from the cache).
    """
    with gc_paused():
        doc = load_json(annotation_json)
        checks, decoded = check_images(doc["images"], image_root, CheckCache(cache_path), processes, progress)
        per_image = Counter(ann["image_id"] for ann in doc["annotations"])
        bad = [bool(check.reason or size_problem(check, image["width"], image["height"]))
               for image, check in zip(doc["images"], checks)]
        rejections = [_rejection(image, check, per_image[image["id"]])
                      for image, check, is_bad in zip(doc["images"], checks, bad) if is_bad]
        rejected_ids = {r["image_id"] for r in rejections}
        verified = {**doc, "images": [im for im, is_bad in zip(doc["images"], bad) if not is_bad],
                    "annotations": [a for a in doc["annotations"] if a["image_id"] not in rejected_ids]}
        report = {"checked": len(doc["images"]), "kept": len(verified["images"]), "rejected": len(rejections),
                  "rejected_annotations": len(doc["annotations"]) - len(verified["annotations"]),
                  "reasons": dict(sorted(Counter(r["reason"] for r in rejections).items())),
                  "rejections": rejections}
        assert report["checked"] == report["kept"] + report["rejected"], report
        validate_document(verified, "coco_keypoints", out["verified"], sample=100)
        write_json(out["verified"], verified)
    write_json(out["report"], report, indent=True)
    _write_rejections_csv(out["rejections"], rejections)
    return {**report, "decoded": decoded}


__all__ = ["verify_list", "check_images", "PARALLEL_MIN"]

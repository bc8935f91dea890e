"""Person boxes for top-down keypoint inference: where they come from is a ``BoxSource``.

A box source is any callable ``source(frame) -> boxes [N, 5]`` float32 (x, y, w, h, score),
in the frame's pixels. Two ship here: ``whole_image`` (one box, score 1) and ``BoxesFile``
(boxes read from a COCO JSON). A pedestrian detector plugs in as a third:
``lambda frame: detector(frame.image)``.

``BoxesFile`` reads either

* a COCO annotation file (``{"images": [...], "annotations": [...]}``): an input image
  takes the annotations of the ``images`` entry whose ``file_name`` has the same base
  name; crowd annotations (``iscrowd: 1``) are skipped; score 1; or
* a COCO results list (``[{"image_id", "bbox", "score"?, "category_id"?}, ...]``, what a
  detector's ``bbox.json`` holds): ``image_id`` is the file name (a string), or an
  integer matched to a numeric file stem (COCO's ``000000397133.jpg`` is 397133) or,
  for a video, to the 0-based frame index.

Records with a ``category_id`` other than 1 (person) are skipped.
"""
import json
import math
from pathlib import Path
from typing import Protocol

import numpy as np

from tasks.app.media import Frame
from tasks.common.coco import PERSON_ID


class BoxSource(Protocol):
    def __call__(self, frame: Frame) -> np.ndarray:
        """Person boxes [N, 5] (x, y, w, h, score) in ``frame.image`` pixels."""


def xywh_to_xyxy(boxes):
    """[N, 4 or 5] (x, y, w, h[, score]) -> (x1, y1, x2, y2[, score])."""
    out = np.array(boxes, dtype=np.float32)
    out[:, 2:4] += out[:, :2]
    return out


def whole_image(frame):
    """The whole image as one person box with score 1."""
    h, w = frame.image.shape[:2]
    return np.array([[0, 0, w, h, 1]], dtype=np.float32)


def _finite(value) -> bool:
    """A JSON number that is finite as a float (not a bool, NaN, Infinity or an integer beyond float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


class BoxesFileError(ValueError):
    """The boxes file is unreadable or a record is malformed; the message names the file and record."""


class BoxesFile:
    """Person boxes read from a COCO annotation file or a COCO results list (module docstring).

    ``image_id(frame)`` is the COCO image id an annotation file gives this frame (else None);
    ``matched`` counts the frames the file knows (so a file that matches none can be reported).
    """

    def __init__(self, path):
        self.path = Path(path)
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise BoxesFileError(f"cannot read boxes file {self.path}: {exc}") from exc
        self._by_key = {}  # file name (str) or image id (int) -> list of [x, y, w, h, score]
        self._ids = {}     # file base name -> COCO image id (annotation files only)
        self.matched = 0
        if isinstance(data, dict) and "images" in data and "annotations" in data:
            self._read_annotations(data)
        elif isinstance(data, list):
            self._read_results(data)
        else:
            raise BoxesFileError(f"{self.path}: expected a COCO annotation file (with 'images' and "
                                 "'annotations') or a COCO results list")

    def _read_annotations(self, data):
        names = {}
        for i, image in enumerate(data["images"]):
            if "id" not in image or "file_name" not in image:
                raise BoxesFileError(f"{self.path}: images[{i}] has no 'id' or 'file_name'")
            names[image["id"]] = Path(image["file_name"]).name
            self._ids[names[image["id"]]] = image["id"]
        for i, ann in enumerate(data["annotations"]):
            if ann.get("iscrowd", 0) or ann.get("category_id", PERSON_ID) != PERSON_ID:
                continue
            if ann.get("image_id") not in names:
                raise BoxesFileError(f"{self.path}: annotations[{i}] has image_id {ann.get('image_id')!r}, "
                                     "which no images entry has")
            self._add(names[ann["image_id"]], ann, f"annotations[{i}]", default_score=1.0)

    def _read_results(self, records):
        for i, record in enumerate(records):
            if not isinstance(record, dict) or not isinstance(record.get("image_id"), (int, str)):
                raise BoxesFileError(f"{self.path}: record [{i}] has no integer or string 'image_id'")
            if record.get("category_id", PERSON_ID) == PERSON_ID:
                self._add(record["image_id"], record, f"record [{i}]", default_score=1.0)

    def _add(self, key, record, where, default_score):
        bbox = record.get("bbox")
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(_finite(v) for v in bbox)):
            raise BoxesFileError(f"{self.path}: {where} has no 'bbox' [x, y, w, h] of four finite numbers "
                                 f"(got {bbox!r})")
        if bbox[2] <= 0 or bbox[3] <= 0:
            raise BoxesFileError(f"{self.path}: {where} has an empty bbox {bbox}")
        score = record.get("score", default_score)
        if not _finite(score):
            raise BoxesFileError(f"{self.path}: {where} has a 'score' that is not a finite number (got {score!r})")
        self._by_key.setdefault(key, []).append([*bbox, float(score)])

    def _keys(self, frame):
        if frame.is_video_frame:
            return (frame.index,)
        stem = Path(frame.name).stem
        return (frame.name, self._ids.get(frame.name), int(stem) if stem.isdigit() else None)

    def image_id(self, frame):
        return None if frame.is_video_frame else self._ids.get(frame.name)

    def __call__(self, frame):
        keys = [key for key in self._keys(frame) if key is not None]
        # an annotation file's image without persons is known too: it has an id
        self.matched += any(key in self._by_key for key in keys) or self.image_id(frame) is not None
        for key in keys:
            if key in self._by_key:
                return np.array(self._by_key[key], dtype=np.float32).reshape(-1, 5)
        return np.zeros((0, 5), dtype=np.float32)

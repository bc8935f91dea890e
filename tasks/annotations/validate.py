"""Loading and validating the annotation files at full size.

Strategy (jsonschema on a multi-hundred-MB file record by record takes minutes):

* The JSON Schemas in ``schemas/`` describe the complete files, records included;
  on small files (tests) they may be applied in full.
* On real files, :func:`validate_document` applies jsonschema to the top level
  (types, required keys, the small ``categories`` list) plus a deterministic
  sample of the record lists (first, last and evenly spaced records). For input
  files the sample is empty: a bad input record must be *rejected with a reason*,
  not fail the whole file.
* Every record is then checked by fast plain-Python rules (:func:`check_image`,
  :func:`check_annotation`, and the AIC rules in ``aic_to_coco``) that enforce
  everything the schemas say about a record and the cross-record rules a schema
  cannot express (known image id, keypoints inside the image, num_keypoints
  consistent, no duplicate ids, file names confined to their image folder:
  tasks.common.paths). The merge writes only records that passed these
  checks, so its output satisfies the schema; the sampled jsonschema pass on the
  output is a cheap guard against a rule and the schema drifting apart.
"""
import contextlib
import gc
import json
import math
from collections import Counter
from pathlib import Path

import orjson

from tasks.common.coco import NUM_JOINTS, PERSON_ID
from tasks.common.paths import file_name_problem
from tasks.common.schema import check_schema

RECORD_LISTS = ("images", "annotations")


def load_json(path):
    """Parse a JSON file with orjson; fall back to the json module for NaN/Infinity literals.

    orjson refuses the non-standard NaN/Infinity tokens; the fallback parses them so that
    the records holding them are rejected one by one instead of the whole file failing.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            return json.loads(data)
        except ValueError as err:
            raise ValueError(f"{path}: not valid JSON ({err}); re-extract or replace the file") from None


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector (restored on exit).

    Parsing builds millions of dicts and lists; each batch of new containers
    triggers a collection that walks them, which roughly doubles the parse time.
    Annotation documents hold no reference cycles, so reference counting frees
    them anyway.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _sample(records, size):
    if size <= 0 or not records:
        return []
    if len(records) <= size:
        return records
    step = (len(records) - 1) / (size - 1)
    return [records[round(i * step)] for i in range(size)]


def validate_document(obj, schema_name, path, sample=0):
    """Validate the top level of `obj` (and `sample` records per record list) with jsonschema.

    Raises ValueError naming the file and the failing location.
    """
    if isinstance(obj, list):
        shallow = _sample(obj, sample)
    elif isinstance(obj, dict):
        shallow = {k: (_sample(v, sample) if k in RECORD_LISTS and isinstance(v, list) else v)
                   for k, v in obj.items()}
    else:
        shallow = obj
    check_schema(shallow, schema_name, path)


# The types a JSON number parses to. Not bool: isinstance(True, int) holds, but a JSON true is no
# coordinate (and the schemas' "number" refuses it).
NUMBER_TYPES = frozenset((int, float))


def finite_sum(values):
    """Sum of `values`, or None when `values` is not a list of ints and floats (booleans and
    strings are not) or the sum is not finite (a NaN or an infinity among them)."""
    try:
        if not NUMBER_TYPES.issuperset(map(type, values)):
            return None
        total = sum(values)
        return total if math.isfinite(total) else None
    except (TypeError, OverflowError):
        return None


def repeated_values(values):
    """The values that occur more than once in `values`."""
    return {value for value, count in Counter(values).items() if count > 1}


def check_image(image, duplicate_ids):
    """Reason why a COCO image record is bad, or None. `duplicate_ids`: ids that more than one
    image record of the file carries (every one of those records is rejected: which picture
    the id's annotations belong to cannot be told)."""
    if type(image) is not dict:
        return "image record is not an object"
    iid, width, height = image.get("id"), image.get("width"), image.get("height")
    if type(iid) is not int:
        return "image id missing or not an integer"
    if iid in duplicate_ids:
        return "duplicate image id"
    if type(width) is not int or type(height) is not int or width <= 0 or height <= 0:
        return "image width/height missing or not a positive integer"
    file_name = image.get("file_name")
    if type(file_name) is not str or not file_name:
        return "image file_name missing"
    return file_name_problem(file_name)


def check_annotation(ann, sizes):
    """Reason why a COCO person annotation is bad, or None.

    `sizes` maps each kept image id to (width, height). Every keypoint coordinate,
    labeled or not, must lie in [0, width] x [0, height].
    """
    if type(ann) is not dict:
        return "annotation record is not an object"
    try:
        kps, box, area = ann["keypoints"], ann["bbox"], ann["area"]
        image_id, num, crowd = ann["image_id"], ann["num_keypoints"], ann["iscrowd"]
        category = ann["category_id"]
    except KeyError as err:
        return f"annotation field {err.args[0]} missing"
    if type(ann.get("id")) is not int:
        return "annotation id missing or not an integer"
    size = sizes.get(image_id) if type(image_id) is int else None
    if size is None:
        return "image_id not among the kept images"
    if category != PERSON_ID or type(category) is not int:
        return "category is not person"
    if type(kps) is not list or len(kps) != 3 * NUM_JOINTS:
        return "wrong keypoint length"
    if type(box) is not list or len(box) != 4:
        return "wrong bbox length"
    if finite_sum(kps) is None or finite_sum(box) is None or finite_sum((area,)) is None:
        return "non-numeric or non-finite value"
    vis = kps[2::3]
    labeled = vis.count(1) + vis.count(2)
    if labeled + vis.count(0) != NUM_JOINTS:
        return "invalid visibility"
    if num != labeled or type(num) is not int:
        return "num_keypoints differs from the labeled keypoints"
    if box[2] < 0 or box[3] < 0:
        return "negative bbox width/height"
    if area < 0:
        return "negative area"
    if crowd not in (0, 1) or type(crowd) is not int:
        return "iscrowd not 0 or 1"
    # visibilities are 0..2 (checked above), so min() over the whole list checks x, y >= 0
    if min(kps) < 0 or max(kps[0::3]) > size[0] or max(kps[1::3]) > size[1]:
        return "keypoint outside image"
    return None

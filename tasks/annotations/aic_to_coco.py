"""AI Challenger raw keypoint file -> COCO person-keypoint file (rules: docs/data.md).

Per human: AIC joint i goes to COCO joint AIC_TO_COCO[i]; head top and neck are
dropped; COCO face points 0-4 stay (0, 0, 0); visibility 1->2, 2->1, 3->0 with
x = y = 0 for 0; bbox [x1, y1, x2-x1, y2-y1] clipped to the image (``clip_boxes``);
area = w*h; num_keypoints = count of v > 0; iscrowd 0.

Rejections (kept as (image_id, human key or None, reason), counted by reason, and
as rejection records with the file name, annotation id and box: rejections.py):
record level (all its humans rejected with the record's reason): record not an
object, invalid image_id, an image_id whose file name could lead outside the
image folder (tasks.common.paths: absolute, a '..' part, a backslash or NUL),
duplicate image_id (every record of an image_id that several records carry),
keypoint_annotations/human_annotations not an object, image file missing,
unreadable image, no humans. Human level: human without box, box without human,
wrong keypoint length, wrong box length, non-numeric or non-finite value (a
boolean, a string, NaN or an infinity), invalid visibility, x2 < x1 or y2 < y1,
keypoint outside image (a *labeled* point outside [0, width] x [0, height]: the
record is rejected rather than clipped, because a moved joint is a wrong label),
box outside image (nothing left after clipping), box area below ``min_box_area``.
An image whose humans are all rejected is rejected too ("no valid human"); its
humans are already counted. An image with some humans rejected keeps the others
(the rejected person is then unlabeled in that image; the report lists it).

The file is checked against schemas/aic_keypoints.schema.json at the top level
(see validate.py for why records are checked by the fast rules above). Image
sizes come from the JPEG/PNG headers of ``images_dir/<image_id>.jpg``
(imagesize.py, no decoding).

Invariant, asserted and written in the report: input humans == kept + rejected.
Image ids are 1..N in raw-file order of the kept images, annotation ids 1..M in
the same order (humans in numeric key order). The AIC sha1 stays in ``aic_id``
(image: "<sha1>", annotation: "<sha1>/humanN"); the merge moves it to the lineage.
"""
import re
from collections import Counter
from pathlib import Path

import orjson

from tasks.annotations.aic import AIC_TO_COCO, AIC_TO_COCO_VISIBILITY, NUM_AIC_JOINTS
from tasks.annotations.imagesize import image_size
from tasks.annotations.rejections import coco_box, rejection_record
from tasks.annotations.validate import finite_sum, gc_paused, load_json, repeated_values, validate_document
from tasks.common.coco import NUM_JOINTS, PERSON_ID, person_category
from tasks.common.logs import progress_bar
from tasks.common.paths import file_name_problem
from tasks.datasets.layout import IMAGE_LINKS, aic_archive

IMAGE_ID_PATTERN = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
HUMAN_KEY_NUMBER = re.compile(r"(\d+)$")


def _human_order(key):
    match = HUMAN_KEY_NUMBER.search(key)
    return (key[: match.start()] if match else key, int(match.group(1)) if match else -1, key)


def convert_keypoints(kps, width, height):
    """AIC [x, y, v] * 14 -> COCO [x, y, v] * 17, or a rejection reason (str)."""
    coco = [0] * (3 * NUM_JOINTS)
    for aic_index, coco_index in enumerate(AIC_TO_COCO):
        x, y, v = kps[3 * aic_index: 3 * aic_index + 3]
        vis = AIC_TO_COCO_VISIBILITY[v]
        if vis:
            if not (0 <= x <= width and 0 <= y <= height):
                return "keypoint outside image"
            coco[3 * coco_index: 3 * coco_index + 3] = (x, y, vis)
    return coco


def convert_box(box, width, height, clip):
    """AIC [x1, y1, x2, y2] -> COCO [x, y, w, h] (clipped when `clip`), or a reason."""
    x1, y1, x2, y2 = box
    if x2 < x1 or y2 < y1:
        return "box x2 < x1 or y2 < y1"
    if clip:
        cx1, cx2 = min(max(x1, 0), width), min(max(x2, 0), width)
        cy1, cy2 = min(max(y1, 0), height), min(max(y2, 0), height)
        if (cx2 - cx1) * (cy2 - cy1) == 0 and (x2 - x1) * (y2 - y1) > 0:
            return "box outside image"  # a real box with nothing left inside the image
        x1, y1, x2, y2 = cx1, cy1, cx2, cy2
    return [x1, y1, x2 - x1, y2 - y1]


def convert_human(kps, box, width, height, *, clip_boxes=True, min_box_area=0):
    """One AIC human -> the COCO annotation fields, or a rejection reason (str)."""
    if kps is None:
        return "box without human"
    if box is None:
        return "human without box"
    if type(kps) is not list or len(kps) != 3 * NUM_AIC_JOINTS:
        return "wrong keypoint length"
    if type(box) is not list or len(box) != 4:
        return "wrong box length"
    if finite_sum(kps) is None or finite_sum(box) is None:
        return "non-numeric or non-finite value"
    if any(v not in AIC_TO_COCO_VISIBILITY for v in kps[2::3]):
        return "invalid visibility"
    bbox = convert_box(box, width, height, clip_boxes)
    if isinstance(bbox, str):
        return bbox
    area = bbox[2] * bbox[3]
    if area < min_box_area:
        return "box area below min_box_area"
    coco = convert_keypoints(kps, width, height)
    if isinstance(coco, str):
        return coco
    num = NUM_JOINTS - coco[2::3].count(0)
    return {"keypoints": coco, "num_keypoints": num, "bbox": bbox, "area": area}


def _record_problem(record, duplicate_ids):
    """Record-level rejection reason, or None. `duplicate_ids`: image ids of several records."""
    if type(record) is not dict:
        return "record is not an object"
    image_id = record.get("image_id")
    if type(image_id) is not str:
        return "invalid image_id"
    path_problem = file_name_problem(f"{image_id}.jpg")  # the image_id becomes a file name
    if path_problem is not None:
        return path_problem
    if not IMAGE_ID_PATTERN.fullmatch(image_id):
        return "invalid image_id"
    if image_id in duplicate_ids:
        return "duplicate image_id"
    if type(record.get("keypoint_annotations")) is not dict:
        return "keypoint_annotations missing or not an object"
    if type(record.get("human_annotations")) is not dict:
        return "human_annotations missing or not an object"
    if not record["keypoint_annotations"] and not record["human_annotations"]:
        return "no humans"
    return None


def _image_id(record):
    return record.get("image_id") if type(record) is dict else None


def _human_keys(record):
    keys = set()
    for field in ("keypoint_annotations", "human_annotations"):
        if isinstance(record, dict) and isinstance(record.get(field), dict):
            keys.update(record[field])
    return sorted(keys, key=_human_order)


def _raw_box(record, human):
    """The human's box as COCO [x, y, w, h] as given (not clipped), for the report, or None."""
    boxes = record.get("human_annotations") if type(record) is dict else None
    box = coco_box(boxes.get(human)) if type(boxes) is dict and human is not None else None
    return None if box is None else [box[0], box[1], box[2] - box[0], box[3] - box[1]]


class _Rejections:
    """Rejected (image_id, human, reason) triples with per-reason counts, and a
    rejection record (tasks.annotations.rejections) for each."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.items, self.records = [], []
        self.humans = Counter()
        self.images = Counter()

    def add(self, record, human, reason, detail=None):
        image_id = _image_id(record)
        self.items.append((image_id, human, reason))
        if human is not None:
            self.humans[reason] += 1
        named = type(image_id) is str
        self.records.append(rejection_record(
            reason, image_id=image_id, file_name=f"{self.prefix}{image_id}.jpg" if named else None,
            annotation_id=f"{image_id}/{human}" if named and human is not None else None,
            bbox=_raw_box(record, human), detail=detail))

    def image(self, record, humans, reason, detail=None):
        self.images[reason] += 1
        for human in humans or [None]:
            self.add(record, human, reason, detail)


def convert_aic(raw_json, images_dir, out_json, *, image_prefix=IMAGE_LINKS[aic_archive("train")],
                clip_boxes=True, min_box_area=0, report_json=None, progress=True):
    """Convert a raw AIC keypoint file to a COCO person-keypoint file.

    raw_json: the AIC annotation JSON; images_dir: folder of its ``<image_id>.jpg``;
    out_json: written COCO file; image_prefix: prepended to ``file_name`` so it is
    relative to the data root; clip_boxes, min_box_area: conversion parameters
    (both change the output); report_json: optional path for the returned report.
    Returns the report dict (counts, rejections by reason, the rejections themselves).
    """
    with gc_paused():
        return _convert(Path(raw_json), Path(images_dir), Path(out_json), image_prefix,
                        clip_boxes, min_box_area, report_json, progress)


def _image_size_or_problem(record, duplicate_ids, images_dir):
    """((width, height), None) when ``record``'s image can be used, else (None, why not)."""
    reason = _record_problem(record, duplicate_ids)
    if reason is not None:
        return None, reason
    try:
        return image_size(images_dir / f"{_image_id(record)}.jpg"), None
    except FileNotFoundError:
        return None, "image file missing"
    except (OSError, ValueError):
        return None, "unreadable image"


def _converted_humans(record, humans, size, rejected, **options):
    """[(human key, COCO annotation fields)] of the ``humans`` that convert (``convert_human``
    with ``options``); each other one is added to ``rejected`` with its reason."""
    kept = []
    for human in humans:
        result = convert_human(record["keypoint_annotations"].get(human), record["human_annotations"].get(human),
                               *size, **options)
        if isinstance(result, str):
            rejected.add(record, human, result)
        else:
            kept.append((human, result))
    return kept


def _report(raw_json, parameters, records, images, annotations, input_humans, rejected):
    """The conversion report: counts in and out, and every rejection with its reason. Checks that
    each input image and human was either kept or rejected."""
    rejected_humans, rejected_images = rejected.humans.total(), rejected.images.total()
    assert input_humans == len(annotations) + rejected_humans, "human count invariant broken"
    assert len(records) == len(images) + rejected_images, "image count invariant broken"
    return {
        "input": Path(raw_json).name,  # names only: the report is a function of the content
        "parameters": parameters,
        "input_images": len(records), "kept_images": len(images),
        "rejected_images": rejected_images,
        "input_humans": input_humans, "kept_humans": len(annotations),
        "rejected_humans": rejected_humans,
        "invariant": f"input_humans {input_humans} == kept {len(annotations)} + "
                     f"rejected {rejected_humans}",
        "rejected_humans_by_reason": dict(rejected.humans.most_common()),
        "rejected_images_by_reason": dict(rejected.images.most_common()),
        "rejections": [list(item) for item in rejected.items],
        "rejected_records": rejected.records,
    }


def _convert(raw_json, images_dir, out_json, image_prefix, clip_boxes, min_box_area,
             report_json, progress):
    records = load_json(raw_json)
    validate_document(records, "aic_keypoints", raw_json)
    prefix = f"{image_prefix.rstrip('/')}/" if image_prefix else ""
    images, annotations, rejected = [], [], _Rejections(prefix)
    duplicate_ids = repeated_values(image_id for image_id in map(_image_id, records) if type(image_id) is str)
    input_humans = 0
    for record in progress_bar(records, desc=f"convert {raw_json.name}", unit="img", enabled=progress,
                               mininterval=1.0):
        humans = _human_keys(record)
        input_humans += len(humans)
        image_id = _image_id(record)
        size, reason = _image_size_or_problem(record, duplicate_ids, images_dir)
        if reason is not None:
            detail = f"image_id {image_id} is in several records" if reason == "duplicate image_id" else None
            rejected.image(record, humans, reason, detail)
            continue
        kept = _converted_humans(record, humans, size, rejected, clip_boxes=clip_boxes, min_box_area=min_box_area)
        if not kept:
            rejected.image(record, [], "no valid human")
            continue
        new_image_id = len(images) + 1
        images.append({"id": new_image_id, "file_name": f"{prefix}{image_id}.jpg",
                       "width": size[0], "height": size[1], "aic_id": image_id})
        for human, fields in kept:
            annotations.append({"id": len(annotations) + 1, "image_id": new_image_id, "category_id": PERSON_ID,
                                **fields, "iscrowd": 0, "aic_id": f"{image_id}/{human}"})
    out_json.write_bytes(orjson.dumps(
        {"images": images, "annotations": annotations, "categories": [person_category()]}))
    report = _report(raw_json, {"image_prefix": image_prefix, "clip_boxes": clip_boxes, "min_box_area": min_box_area},
                     records, images, annotations, input_humans, rejected)
    if report_json is not None:
        Path(report_json).write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return report

"""Rejections with pictures: every reason of the conversion, merge and image-check reports,
with its count and thumbnails of its first records (the record's box drawn in red).

Reasons are taken as the reports write them, grouped by their text, so a reason added
later shows up without a change here. A record is looked up in the file it came from
(the raw AI Challenger file for the conversion, the merge's input files for the merge);
one that cannot be found, or whose image is missing, empty or outside the data root's
image folders, gets a placeholder tile that says why.
"""
from collections import defaultdict

from tasks.common.coco import NUM_JOINTS
from tasks.report.browse import aic_pose
from tasks.report.records import keypoints_array, xywh_box, xyxy_box

__all__ = ["RecordIndex", "reason_groups", "conversion_tiles", "merge_tiles", "image_check_tiles"]


class RecordIndex:
    """A COCO-format document's images and annotations by id (the last record of a
    duplicated id: the merge keeps the first) and by position ("#<index>" ids)."""

    def __init__(self, doc: dict, prefix=""):
        self.prefix = prefix
        self.images, self.annotations = _index(doc.get("images")), _index(doc.get("annotations"))

    def image(self, image_id):
        return self.images.get(_key(image_id))

    def annotation(self, annotation_id):
        return self.annotations.get(_key(annotation_id))

    def file_name(self, image):
        name = image.get("file_name") if isinstance(image, dict) else None
        return f"{self.prefix}{name}" if isinstance(name, str) else None


def reason_groups(entries, thumbnails_per_reason: int) -> list:
    """[(reason, count, first entries)] in order of decreasing count; entries are
    (reason, anything)."""
    grouped = defaultdict(list)
    for reason, entry in entries:
        grouped[str(reason)].append(entry)
    ordered = sorted(grouped.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [(reason, len(items), items[:thumbnails_per_reason]) for reason, items in ordered]


def conversion_tiles(entries, raw_records: dict, image_prefix: str, thumbnails, folders) -> list:
    """Tiles of conversion rejections [image id, human key or None, reason]; raw_records:
    the raw AIC records by image id, or None when the raw file is not extracted."""
    tiles = []
    for image_id, human, reason in entries:
        record = (raw_records or {}).get(image_id) if isinstance(image_id, str) else None
        file_name = f"{image_prefix}/{image_id}.jpg" if isinstance(image_id, str) else None
        spec = _spec(folders, file_name)
        if record is not None and human is not None:
            spec["boxes"] = _listed(xyxy_box(_field(record, "human_annotations", human)))
            spec["aic_pose"] = aic_pose(_field(record, "keypoint_annotations", human))
        label = f"{image_id}" + (f" / {human}" if human is not None else "")
        tiles.append(_tile(thumbnails, spec, label, reason))
    return tiles


def merge_tiles(entries, index, thumbnails, folders) -> list:
    """Tiles of merge rejections [source, kind, original id, reason] of one source; index:
    its RecordIndex, or None when its file is not found."""
    tiles = []
    for _, kind, original_id, reason in entries:
        spec, label = _spec(folders, None, "input file not found"), f"{kind} {original_id}"
        if index is not None and kind == "image":
            spec = _spec(folders, index.file_name(index.image(original_id)))
        elif index is not None:
            annotation = index.annotation(original_id) or {}
            spec = _spec(folders, index.file_name(index.image(annotation.get("image_id"))))
            spec["boxes"] = _listed(xywh_box(annotation.get("bbox")))
            pose = keypoints_array(annotation.get("keypoints"), NUM_JOINTS)
            spec["pose"] = None if pose is None else pose.tolist()
        tiles.append(_tile(thumbnails, spec, label, reason))
    return tiles


def image_check_tiles(entries, thumbnails, folders) -> list:
    """Tiles of image-check rejections {"file_name", "image_id", "reason", "annotations",
    "detail"}; annotations that are records with a `bbox` are drawn."""
    tiles = []
    for entry in entries:
        entry = entry if isinstance(entry, dict) else {}
        spec = _spec(folders, entry.get("file_name"))
        annotations = entry.get("annotations")
        if isinstance(annotations, list):
            spec["boxes"] = [box for a in annotations if isinstance(a, dict)
                             and (box := xywh_box(a.get("bbox"))) is not None]
        detail = entry.get("detail")
        label = f"{entry.get('file_name')}" + (f" ({detail})" if detail else "")
        tiles.append(_tile(thumbnails, spec, label, entry.get("reason")))
    return tiles


def _spec(folders, file_name, why=None):
    located, reason = folders.locate(file_name) if why is None else (None, why)
    return {"kind": "rejection", "image": located, "why": reason, "boxes": []}


def _tile(thumbnails, spec, label, reason):
    caption = label if spec["why"] is None else f"{label} · {spec['why']}"
    return {"thumb": thumbnails.add(spec), "title": f"{reason}: {label}", "caption": caption}


def _field(record, name, human):
    value = record.get(name) if isinstance(record, dict) else None
    return value.get(human) if isinstance(value, dict) else None


def _listed(box):
    return [] if box is None else [box]


def _index(records) -> dict:
    out = {}
    for position, record in enumerate(records if isinstance(records, list) else []):
        if isinstance(record, dict):
            out[_key(record.get("id", f"#{position}"))] = record
            out[f"#{position}"] = record
    return out


def _key(value):
    """Ids as the reports write them: numbers, strings, "#<position>"; unhashable ones never match."""
    return value if isinstance(value, (int, float, str)) and not isinstance(value, bool) else repr(value)

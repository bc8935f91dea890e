"""The dataset browser: per source, pages of thumbnails with boxes and skeletons.

Images are grouped by their number of persons (non-crowd person annotations: 0, 1, 2,
3-5, 6 or more) and each group, and all images together, gets up to `pages` pages of
`thumbnails_per_page` images, spread evenly over the source in id order, so a full COCO
or AI Challenger source costs as many thumbnails as the sample. AI Challenger images
show the raw 14 joints beside the converted 17 (tasks.report.drawing, kind ``aic``).
"""
from collections import defaultdict

from tasks.annotations.aic import AIC_UNLABELED, NUM_AIC_JOINTS
from tasks.common.coco import NUM_JOINTS
from tasks.report.records import keypoints_array, xywh_box, xyxy_box

__all__ = ["BUCKETS", "browse_source", "records_by_id", "aic_drawing", "aic_pose"]

#: (key, label, lowest, highest persons), highest None: no limit.
BUCKETS = (("all", "all images", 0, None), ("0", "no person", 0, 0), ("1", "1 person", 1, 1),
           ("2", "2 persons", 2, 2), ("3-5", "3-5 persons", 3, 5), ("6+", "6 or more", 6, None))


def browse_source(doc: dict, title: str, key: str, thumbnails, folders, *, prefix="", raw_aic=None,
                  per_page=24, pages=3) -> dict:
    """The browser entry of one COCO-format document.

    prefix: prepended to its file names (relative to the data root); raw_aic: the raw AI
    Challenger records by image id (`records_by_id`), for the side-by-side pictures
    (converted files keep the raw id in `aic_id`)."""
    by_image = defaultdict(list)
    for ann in doc["annotations"]:
        by_image[ann.get("image_id")].append(ann)
    images = sorted(doc["images"], key=lambda image: image["id"])
    persons = {image["id"]: sum(1 for a in by_image[image["id"]] if not a.get("iscrowd")) for image in images}
    buckets = []
    for bucket, label, low, high in BUCKETS:
        members = [image for image in images if low <= persons[image["id"]] and (high is None or persons[image["id"]] <= high)]
        chosen = _spread(members, per_page * pages)
        items = [_item(image, by_image[image["id"]], persons[image["id"]], thumbnails, folders, prefix, raw_aic)
                 for image in chosen]
        buckets.append({"key": bucket, "label": label, "total": len(members),
                        "pages": [items[i:i + per_page] for i in range(0, len(items), per_page)]})
    return {"key": key, "title": title, "images": len(images), "persons": sum(persons.values()),
            "side_by_side": raw_aic is not None, "buckets": buckets}


def _spread(members: list, count: int) -> list:
    """`count` members evenly spaced over the list (all of them when there are fewer)."""
    if len(members) <= count:
        return members
    return [members[i * len(members) // count] for i in range(count)]


def _item(image, annotations, persons, thumbnails, folders, prefix, raw_aic):
    file_name = f"{prefix}{image.get('file_name')}"
    located, why = folders.locate(file_name)
    spec = {"kind": "poses", "image": located, "why": why,
            "boxes": [box for a in annotations if (box := xywh_box(a.get("bbox"))) is not None],
            "poses": [_coco_pose(a) for a in annotations if a.get("num_keypoints", 1) > 0]}
    if raw_aic is not None:
        spec.update(kind="aic", **aic_drawing(raw_aic.get(image.get("aic_id"))))
    return {"thumb": thumbnails.add(spec), "title": file_name,
            "caption": f"#{image['id']} · {persons} person{'s' if persons != 1 else ''}"}


def _coco_pose(annotation):
    pose = keypoints_array(annotation.get("keypoints"), NUM_JOINTS)
    return None if pose is None else pose.tolist()


def records_by_id(records, keep_last=False) -> dict:
    """Raw AI Challenger records by image id: the first of an id, as the conversion keeps it,
    or the last (`keep_last`: a rejected duplicate is a later record)."""
    out = {}
    for record in records if isinstance(records, list) else []:
        image_id = record.get("image_id") if isinstance(record, dict) else None
        if isinstance(image_id, str) and (keep_last or image_id not in out):
            out[image_id] = record
    return out


def aic_drawing(record) -> dict:
    """{"raw_boxes": [x1, y1, x2, y2]..., "raw_poses": [14 x (x, y, labeled)]...} of a raw record."""
    boxes, poses = [], []
    keypoints = _items(record.get("keypoint_annotations")) if isinstance(record, dict) else {}
    humans = _items(record.get("human_annotations")) if isinstance(record, dict) else {}
    for human in sorted(set(humans) | set(keypoints)):
        if (box := xyxy_box(humans.get(human))) is not None:
            boxes.append(box)
        if (pose := aic_pose(keypoints.get(human))) is not None:
            poses.append(pose)
    return {"raw_boxes": boxes, "raw_poses": poses}


def aic_pose(value):
    """Raw AIC [x, y, v] * 14 -> 14 x [x, y, labeled], or None."""
    pose = keypoints_array(value, NUM_AIC_JOINTS)
    if pose is None:
        return None
    pose[:, 2] = (pose[:, 2] > 0) & (pose[:, 2] < AIC_UNLABELED)
    return pose.tolist()


def _items(value) -> dict:
    return value if isinstance(value, dict) else {}

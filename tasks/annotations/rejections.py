"""A rejected record as the conversion and merge reports list it (``rejected_records``).

Each carries what a reader needs to show the reason with its records (an HTML report with
thumbnails): the reason (a short, stable string: reports count by it), the image id and
``file_name`` (relative to the data root) when known, the annotation id when the
rejection is per annotation, the box as COCO ``[x, y, w, h]`` when it is four finite
numbers, and a detail (which id is duplicated by which file names, why an annotation's
image was rejected) or None. A ``file_name`` here is what the record says, unchecked: a
reader opens it only through ``tasks.common.paths.confined_image_path``.
"""
from tasks.annotations.validate import finite_sum


def _id(value):
    return value if type(value) in (int, str) else None  # not bool, NaN or a structure


def coco_box(box):
    """`box` when it is a list of four finite numbers, else None."""
    return box if type(box) is list and len(box) == 4 and finite_sum(box) is not None else None


def rejection_record(reason, *, image_id=None, file_name=None, annotation_id=None, bbox=None,
                     detail=None) -> dict:
    """The report's dict of one rejection (module docstring); malformed values become None."""
    return {"reason": reason, "image_id": _id(image_id),
            "file_name": file_name if type(file_name) is str else None,
            "annotation_id": _id(annotation_id), "bbox": coco_box(bbox), "detail": detail}

"""Write drawn people as COCO person-keypoint records and raw AI Challenger records."""
import numpy as np

from tasks.annotations.aic import AIC_HIDDEN, AIC_TO_COCO, AIC_UNLABELED, AIC_VISIBLE
from tasks.common.coco import person_category
from tasks.sample.figures import HEAD_TOP, HIDDEN, NECK, OUTSIDE, VISIBLE

# AIC index -> a figure's joint index (COCO order, then head top and neck).
AIC_JOINTS = AIC_TO_COCO + (HEAD_TOP, NECK)
AIC_VISIBILITY = {VISIBLE: AIC_VISIBLE, HIDDEN: AIC_HIDDEN, OUTSIDE: AIC_UNLABELED}


def _round(values, ndigits=2):
    return [round(float(v), ndigits) for v in values]


def coco_keypoints(figure):
    """51 ints [x, y, v] * 17; unlabeled joints (outside the image) are 0, 0, 0."""
    out = []
    for k in range(17):
        v = int(figure.status[k])
        x, y = (int(c) for c in figure.joints[k]) if v else (0, 0)
        out += [x, y, v]
    return out


def uncompressed_rle(mask):
    """COCO's uncompressed RLE of a 0/1 mask: run lengths in column-major order, zeros first."""
    flat = mask.T.ravel().astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0]:
        counts = [0] + counts
    return {"counts": counts, "size": [int(mask.shape[0]), int(mask.shape[1])]}


def coco_annotation(person, ann_id, image_id):
    """One COCO annotation: a labeled person, a box-only small person or a crowd region."""
    if person.kind == "person":
        keypoints = coco_keypoints(person.figure)
    else:
        keypoints = [0] * 51
    if person.kind == "crowd":
        segmentation, area = uncompressed_rle(person.mask), float(person.mask.sum())
    else:
        segmentation, area = [_round(person.polygon)], person.area
    return {
        "segmentation": segmentation,
        "num_keypoints": sum(1 for v in keypoints[2::3] if v > 0),
        "area": round(area, 2),
        "iscrowd": int(person.kind == "crowd"),
        "keypoints": keypoints,
        "image_id": image_id,
        "bbox": _round(person.bbox),
        "category_id": 1,
        "id": ann_id,
    }


def coco_image(image_id, split, width, height):
    file_name = f"{image_id:012d}.jpg"
    return {
        "license": 4,
        "file_name": file_name,
        "coco_url": f"http://images.cocodataset.org/{split}/{file_name}",
        "height": height,
        "width": width,
        "date_captured": "2013-11-14 17:02:52",
        "flickr_url": "",
        "id": image_id,
    }


def coco_file(images, annotations):
    """A whole person_keypoints_*.json document."""
    return {
        "info": {
            "description": "Synthetic stick-figure sample in the COCO 2017 keypoint format",
            "url": "", "version": "1.0", "year": 2017, "contributor": "tasks.sample",
            "date_created": "2017/09/01",
        },
        "licenses": [{"url": "http://creativecommons.org/licenses/by/2.0/", "id": 4,
                      "name": "Attribution License"}],
        "images": images,
        "annotations": annotations,
        "categories": [person_category()],
    }


def aic_human(person):
    """(keypoints: 42 ints [x, y, v] * 14 in AIC order, box: [x1, y1, x2, y2] ints)."""
    fig = person.figure
    keypoints = []
    for k in AIC_JOINTS:
        v = AIC_VISIBILITY[int(fig.status[k])]
        x, y = (int(c) for c in fig.joints[k]) if v != AIC_UNLABELED else (0, 0)
        keypoints += [x, y, v]
    x, y, w, h = (int(c) for c in person.bbox)
    return keypoints, [x, y, x + w - 1, y + h - 1]


def aic_record(image_id, people):
    """One raw AIC record for the labeled people of an image (human1, human2, ...)."""
    record = {"url": f"http://www.sinaimg.cn/dy/slidenews/sample/{image_id}.jpg",
              "image_id": image_id, "keypoint_annotations": {}, "human_annotations": {}}
    labeled = [p for p in people if p.kind == "person"]
    for i, person in enumerate(labeled, start=1):
        keypoints, box = aic_human(person)
        record["keypoint_annotations"][f"human{i}"] = keypoints
        record["human_annotations"][f"human{i}"] = box
    return record

"""What a report thumbnail shows, drawn at thumbnail size.

A thumbnail is described by a JSON-able spec (its content-hashed name is derived from it,
tasks.report.thumbnails) of one of these kinds:

* ``poses``: COCO-17 persons (boxes, skeletons) on the picture, drawn by
  tasks.common.draw (left side warm, right side cool);
* ``aic``: the same AI Challenger picture twice, side by side: the raw 14 joints drawn by
  their AIC names, then the converted 17;
* ``rejection``: a rejected record's box (red) and its keypoints when they are readable;
* ``error``: one keypoint-prediction error, the person cropped: the predicted skeleton, the
  ground-truth joint (green) and the predicted one (red) joined by a line.

A spec whose image is None (missing, empty, outside the image folders) or cannot be
decoded becomes a grey placeholder tile with the reason written on it.
"""
import cv2
import numpy as np

from tasks.common.coco import COCO_KEYPOINTS
from tasks.common.draw import LIMB_COLORS, LIMBS, draw_pose

__all__ = ["AIC_KEYPOINTS", "THUMB_HEIGHT", "render", "placeholder"]

THUMB_HEIGHT = 192
MAX_ASPECT = 2.0          # wider pictures are cut to this width / height
REJECTED_COLOR = (40, 40, 230)
GROUND_TRUTH_COLOR = (60, 200, 60)
NEUTRAL_COLOR = (200, 200, 200)

# AI Challenger's joints by name (docs/data.md), and its limbs in its own indices.
AIC_KEYPOINTS = ("right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
                 "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
                 "left_ankle", "head_top", "neck")
AIC_LIMBS = ((0, 1), (1, 2), (3, 4), (4, 5), (6, 7), (7, 8), (9, 10), (10, 11), (0, 3), (6, 9),
             (0, 6), (3, 9), (12, 13), (13, 0), (13, 3))


def _limb_color(a: int, b: int):
    """The colour tasks.common.draw gives the COCO limb joining the joints of these AIC names
    (matched by name, not through the conversion table, so a wrong table shows)."""
    names = {AIC_KEYPOINTS[a], AIC_KEYPOINTS[b]}
    for (i, j), color in zip(LIMBS, LIMB_COLORS):
        if {COCO_KEYPOINTS[i], COCO_KEYPOINTS[j]} == names:
            return color
    return NEUTRAL_COLOR


AIC_LIMB_COLORS = tuple(_limb_color(a, b) for a, b in AIC_LIMBS)


def render(spec: dict, image, reduction=1.0):
    """The thumbnail (BGR uint8, THUMB_HEIGHT high) of `spec` on `image` (BGR, or None),
    decoded at 1 / `reduction` of the size the spec's coordinates refer to."""
    if image is None:
        return placeholder(spec.get("why") or "image cannot be decoded")
    if spec["kind"] == "error":
        image, origin = _crop(image, spec["crop"])
        spec = _shifted(spec, origin)
    small = _resize(image, THUMB_HEIGHT / image.shape[0])
    scale = THUMB_HEIGHT / (image.shape[0] * reduction)
    if spec["kind"] == "aic":
        gap = np.full((THUMB_HEIGHT, 3, 3), 255, np.uint8)
        return np.hstack([_draw_aic(small.copy(), spec, scale), gap, _draw_poses(small, spec, scale)])
    return _DRAW[spec["kind"]](small, spec, scale)


def placeholder(reason: str):
    """A grey square tile saying why there is no picture."""
    tile = np.full((THUMB_HEIGHT, THUMB_HEIGHT, 3), 90, np.uint8)
    lines = ["no picture:"] + _wrap(reason, 24)
    for row, line in enumerate(lines[:8]):
        cv2.putText(tile, line, (8, 28 + 20 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (235, 235, 235), 1,
                    cv2.LINE_AA)
    return tile


def _resize(image, scale):
    height = THUMB_HEIGHT
    width = max(1, round(image.shape[1] * scale))
    small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return small[:, :round(MAX_ASPECT * height)]


def _points(array, scale):
    """[P, J, 3] with visibility -> pixels at thumbnail scale, score 1 where labeled."""
    array = np.asarray(array, np.float32).reshape(len(array), -1, 3).copy()
    array[..., :2] *= scale
    array[..., 2] = (array[..., 2] > 0).astype(np.float32)
    return array


def _boxes(boxes, scale):
    return np.asarray(boxes, np.float32).reshape(-1, 4) * scale


def _draw_poses(canvas, spec, scale):
    poses = [p for p in spec.get("poses", []) if p is not None]
    boxes = spec.get("boxes") or None
    return draw_pose(canvas, _points(poses, scale) if poses else np.zeros((0, 17, 3)),
                     None if boxes is None else _boxes(boxes, scale), score_thr=0.5)


def _draw_aic(canvas, spec, scale):
    for box in spec.get("raw_boxes", []):
        _rectangle(canvas, box, scale, (0, 255, 255))
    for person in _points([p for p in spec.get("raw_poses", []) if p is not None], scale):
        _draw_limbs(canvas, person, AIC_LIMBS, AIC_LIMB_COLORS)
    return canvas


def _draw_rejection(canvas, spec, scale):
    if spec.get("aic_pose") is not None:
        _draw_limbs(canvas, _points([spec["aic_pose"]], scale)[0], AIC_LIMBS, AIC_LIMB_COLORS)
    if spec.get("pose") is not None:
        canvas = draw_pose(canvas, _points([spec["pose"]], scale), score_thr=0.5)
    for box in spec.get("boxes", []):
        _rectangle(canvas, box, scale, REJECTED_COLOR, 2)
    return canvas


def _draw_error(canvas, spec, scale):
    canvas = draw_pose(canvas, _points([spec["prediction"]], scale), score_thr=0.5)
    truth = tuple(int(round(v * scale)) for v in spec["truth_xy"])
    predicted = tuple(int(round(v * scale)) for v in spec["predicted_xy"])
    cv2.line(canvas, truth, predicted, (255, 255, 255), 1, cv2.LINE_AA)
    cv2.circle(canvas, truth, 5, GROUND_TRUTH_COLOR, 2, cv2.LINE_AA)
    cv2.circle(canvas, predicted, 5, REJECTED_COLOR, 2, cv2.LINE_AA)
    return canvas


_DRAW = {"poses": _draw_poses, "rejection": _draw_rejection, "error": _draw_error}


def _draw_limbs(canvas, person, limbs, colors):
    points = [(int(round(x)), int(round(y))) for x, y in person[:, :2]]
    for (a, b), color in zip(limbs, colors):
        if person[a, 2] > 0 and person[b, 2] > 0:
            cv2.line(canvas, points[a], points[b], color, 2, cv2.LINE_AA)
    for point, shown in zip(points, person[:, 2]):
        if shown > 0:
            cv2.circle(canvas, point, 2, (255, 255, 255), -1, cv2.LINE_AA)


def _rectangle(canvas, box, scale, color, thickness=1):
    x1, y1, x2, y2 = (int(round(v * scale)) for v in box)
    cv2.rectangle(canvas, (x1, y1), (x2, y2), color, thickness)


def _crop(image, box):
    """The part of `image` inside `box` (x1, y1, x2, y2, clamped), and its top-left corner."""
    height, width = image.shape[:2]
    x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
    x2, y2 = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return image, (0, 0)
    return image[y1:y2, x1:x2], (x1, y1)


def _shifted(spec, origin):
    """An error spec's coordinates relative to a crop starting at `origin`."""
    dx, dy = origin
    prediction = np.asarray(spec["prediction"], np.float32).reshape(-1, 3).copy()
    prediction[:, 0] -= dx
    prediction[:, 1] -= dy
    return {**spec, "prediction": prediction,
            "truth_xy": (spec["truth_xy"][0] - dx, spec["truth_xy"][1] - dy),
            "predicted_xy": (spec["predicted_xy"][0] - dx, spec["predicted_xy"][1] - dy)}


def _wrap(text: str, width: int) -> list:
    text = text.encode("ascii", "replace").decode()
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = ""
        line = f"{line} {word}".strip()
        while len(line) > width:
            lines.append(line[:width])
            line = line[width:]
    return lines + ([line] if line else [])

"""Draw COCO-17 skeletons (and optional person boxes) on a BGR image."""
import cv2
import numpy as np

from tasks.common.coco import COCO_SKELETON

# 0-based joint pairs (the COCO file's `skeleton` is 1-based).
LIMBS = tuple((a - 1, b - 1) for a, b in COCO_SKELETON)
# One BGR colour per limb: left side warm, right side cool, trunk/face neutral tones.
LIMB_COLORS = (
    (0, 128, 255), (0, 165, 255), (255, 128, 0), (255, 165, 0), (0, 255, 0), (0, 200, 255),
    (255, 200, 0), (0, 255, 128), (0, 80, 255), (255, 80, 0), (0, 0, 255), (255, 0, 0),
    (255, 0, 255), (200, 0, 255), (255, 0, 200), (160, 0, 255), (255, 0, 160), (128, 128, 255),
    (255, 128, 128),
)
JOINT_COLOR = (255, 255, 255)
BOX_COLOR = (0, 255, 255)


def draw_pose(image_bgr, keypoints, boxes=None, score_thr=0.3):
    """Return a copy of `image_bgr` with skeletons drawn.

    keypoints: [P, 17, 3] (x, y, score) in image pixels; joints with score < score_thr
    and limbs touching them are not drawn. boxes: optional [P, 4] (x1, y1, x2, y2) or
    [P, 5] with a score that is written above the box.
    """
    canvas = np.ascontiguousarray(image_bgr).copy()
    keypoints = np.asarray(keypoints, dtype=np.float32).reshape(-1, 17, 3)
    thickness = max(1, round(min(canvas.shape[:2]) / 200))
    if boxes is not None:
        box_thickness = max(2, thickness)  # a 1-pixel line fades in a compressed video
        for box in np.asarray(boxes, dtype=np.float32).reshape(-1, np.shape(boxes)[-1]):
            x1, y1, x2, y2 = (int(round(v)) for v in box[:4])
            cv2.rectangle(canvas, (x1, y1), (x2, y2), BOX_COLOR, box_thickness)
            if box.shape[0] > 4:
                cv2.putText(canvas, f"{box[4]:.2f}", (x1, max(y1 - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX,
                            0.4 * thickness, BOX_COLOR, thickness, cv2.LINE_AA)
    for person in keypoints:
        shown = person[:, 2] >= score_thr
        points = [(int(round(x)), int(round(y))) for x, y in person[:, :2]]
        for (a, b), color in zip(LIMBS, LIMB_COLORS):
            if shown[a] and shown[b]:
                cv2.line(canvas, points[a], points[b], color, thickness + 1, cv2.LINE_AA)
        for joint, visible in enumerate(shown):
            if visible:
                cv2.circle(canvas, points[joint], thickness + 1, JOINT_COLOR, -1, cv2.LINE_AA)
    return canvas

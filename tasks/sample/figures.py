"""Stick figures with known joints, drawn so a small network learns them quickly.

A figure faces the camera (its right side on the image's left), has a filled
head, grey limbs and one filled disc per joint in a colour of its own (left and
right joints differ). The 19 joints are the 17 COCO ones followed by head top
and neck (the two extra points of AI Challenger). A joint's keypoint is the
integer pixel at the centre of its disc; which joints end up hidden is read
back from an owner map drawn alongside the image, so labels match pixels.
"""
from dataclasses import dataclass, field

import cv2
import numpy as np

from tasks.common.coco import COCO_KEYPOINTS

JOINTS = COCO_KEYPOINTS + ("head_top", "neck")
HEAD_TOP, NECK = 17, 18
FACE = (0, 1, 2, 3, 4)
BODY = tuple(range(5, 17))
COCO_STYLE_JOINTS = FACE + BODY            # discs drawn on COCO-style images
AIC_STYLE_JOINTS = BODY + (HEAD_TOP, NECK)  # discs drawn on AIC-style images

# Status of a joint after drawing (COCO's visibility codes).
OUTSIDE, HIDDEN, VISIBLE = 0, 1, 2


# One colour per joint (RGB), all from {0, 128, 255}^3 so any two differ by at least
# 128 in some channel and JPEG noise cannot swap them; left and right always differ.
_JOINT_RGB = (
    (255, 255, 255),                  # nose
    (255, 0, 0), (0, 0, 255),         # left / right eye
    (255, 128, 0), (0, 128, 255),     # ear
    (255, 255, 0), (0, 255, 255),     # shoulder
    (128, 255, 0), (0, 255, 128),     # elbow
    (255, 0, 128), (128, 0, 255),     # wrist
    (128, 0, 0), (0, 0, 128),         # hip
    (128, 128, 0), (0, 128, 128),     # knee
    (255, 0, 255), (0, 128, 0),       # ankle
    (128, 0, 128),                    # head top
    (0, 0, 0),                        # neck
)
JOINT_COLOURS_BGR = tuple(rgb[::-1] for rgb in _JOINT_RGB)
LIMB_GREY = (96, 96, 96)
HEAD_FILL_BGR = (165, 195, 230)

# Body proportions in units of the figure's height (head top to ankles).
_NECK_TO_HIP = 0.30
_SHOULDER_HALF = 0.11
_HIP_HALF = 0.075
_UPPER_ARM, _FOREARM = 0.155, 0.145
_THIGH, _SHIN = 0.245, 0.245
_HEAD_RADIUS = 0.075
_NECK_TO_HEAD_CENTRE = 0.10


@dataclass
class Figure:
    """One drawn person; `joints` (19, 2) int pixels, `status` (19,) after drawing."""
    joints: np.ndarray
    head_centre: tuple
    head_radius: int
    thickness: int
    disc_radius: int
    face_radius: int
    disc_joints: tuple
    status: np.ndarray = None
    mask: np.ndarray = field(default=None, repr=False)


def sample_pose(rng):
    """Random plausible pose, (21, 2) float in body-height units, hip centre at the origin.

    Rows 0-18 are JOINTS, row 19 is the head centre, row 20 the hip centre.
    Image axes: x right, y down.
    """
    lean = rng.uniform(-0.2, 0.2)
    up = np.array([np.sin(lean), -np.cos(lean)])
    left = np.array([np.cos(lean), np.sin(lean)])  # the figure's left = image right

    def limb(start, angle, length, side):
        # angle 0 hangs down along the body, positive swings away from it
        return start + length * (-np.cos(angle) * up + np.sin(angle) * side * left)

    p = np.zeros((21, 2))
    hip = p[20]
    neck = hip + _NECK_TO_HIP * up
    p[NECK] = neck
    for side, (shoulder, elbow, wrist, hip_j, knee, ankle) in (
            (+1, (5, 7, 9, 11, 13, 15)), (-1, (6, 8, 10, 12, 14, 16))):
        p[shoulder] = neck + side * _SHOULDER_HALF * left
        arm = rng.uniform(0.25, 2.7)
        forearm = np.clip(arm + rng.uniform(-1.3, 1.3), 0.05, 3.0)
        p[elbow] = limb(p[shoulder], arm, _UPPER_ARM, side)
        p[wrist] = limb(p[elbow], forearm, _FOREARM, side)
        p[hip_j] = hip + side * _HIP_HALF * left
        thigh = rng.uniform(-0.05, 0.45)
        shin = np.clip(thigh + rng.uniform(-0.5, 0.3), -0.1, 0.6)
        p[knee] = limb(p[hip_j], thigh, _THIGH, side)
        p[ankle] = limb(p[knee], shin, _SHIN, side)
    head = neck + _NECK_TO_HEAD_CENTRE * up
    p[19] = head
    p[HEAD_TOP] = head + _HEAD_RADIUS * up
    turn = rng.uniform(-1, 1) * 0.02 * left  # a slight head turn moves the face
    p[0] = head - 0.012 * up + turn
    p[1] = head + 0.018 * up + 0.028 * left + turn
    p[2] = head + 0.018 * up - 0.028 * left + turn
    p[3] = head + 0.068 * left + 0.5 * turn
    p[4] = head - 0.068 * left + 0.5 * turn
    return p


def pose_extent(pose):
    """(x_min, y_min, x_max, y_max) of a pose in body-height units, head and discs included."""
    head = pose[19]
    pad = 0.03
    lo = np.minimum(pose.min(axis=0), head - _HEAD_RADIUS) - pad
    hi = np.maximum(pose.max(axis=0), head + _HEAD_RADIUS) + pad
    return (*lo, *hi)


def place_figure(pose, height_px, hip_xy, disc_joints):
    """Scale a normalized pose to pixels and put its hip centre at `hip_xy`."""
    pts = pose * height_px + np.asarray(hip_xy, dtype=float)
    return Figure(
        joints=np.rint(pts[:19]).astype(np.int32),
        head_centre=tuple(int(v) for v in np.rint(pts[19])),
        head_radius=max(3, round(_HEAD_RADIUS * height_px)),
        thickness=max(1, round(0.018 * height_px)),
        disc_radius=max(3, round(0.022 * height_px)),
        face_radius=max(2, round(0.013 * height_px)),
        disc_joints=disc_joints,
    )


_LIMBS = ((5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16),
          (5, 6), (11, 12))


def draw_figure(canvas, fig, limb_colour, joint_colour):
    """Draw `fig` on `canvas`; colours are callables so one routine draws image and maps."""
    j = [tuple(int(v) for v in pt) for pt in fig.joints]
    hip_centre = ((j[11][0] + j[12][0]) // 2, (j[11][1] + j[12][1]) // 2)
    c, t = limb_colour(), fig.thickness
    for a, b in _LIMBS:
        cv2.line(canvas, j[a], j[b], c, t)
    cv2.line(canvas, j[NECK], hip_centre, c, t)
    cv2.line(canvas, j[NECK], fig.head_centre, c, t)
    cv2.circle(canvas, fig.head_centre, fig.head_radius, limb_colour(head=True), -1)
    cv2.circle(canvas, fig.head_centre, fig.head_radius, c, max(1, t // 2))
    for k in fig.disc_joints:
        radius = fig.face_radius if k in FACE else fig.disc_radius
        cv2.circle(canvas, j[k], radius, joint_colour(k), -1)


def background(rng, width, height):
    """Light, low-saturation background with a soft gradient and mild noise (BGR uint8)."""
    grey = rng.uniform(150, 225)
    tint = rng.uniform(-18, 18, size=3)
    ramp = np.linspace(-1, 1, height)[:, None, None] * rng.uniform(-15, 15)
    img = grey + tint + ramp + rng.normal(0, 2.5, size=(height, width, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


class Canvas:
    """An image plus an owner map: which figure element each pixel shows last."""

    def __init__(self, image):
        self.image = image
        self.owner = np.zeros(image.shape[:2], np.uint16)
        self.figures = []

    def _code(self, index, joint=None):
        return index * 32 + (1 if joint is None else joint + 2)

    def add(self, fig):
        """Draw a figure on top of what is there; returns its index."""
        i = len(self.figures)
        self.figures.append(fig)
        draw_figure(self.image, fig, lambda head=False: HEAD_FILL_BGR if head else LIMB_GREY,
                    lambda k: JOINT_COLOURS_BGR[k])
        draw_figure(self.owner, fig, lambda head=False: (self._code(i),),
                    lambda k: (self._code(i, k),))
        fig.mask = np.zeros(self.owner.shape, np.uint8)
        draw_figure(fig.mask, fig, lambda head=False: (1,), lambda k: (1,))
        return i

    def occlude(self, rng, xy, half):
        """Cover a square around `xy` with a grey patch (anything under it is hidden)."""
        x, y = int(xy[0]), int(xy[1])
        grey = int(rng.uniform(70, 130))
        colour = (grey, grey + int(rng.uniform(-15, 15)), grey + int(rng.uniform(-15, 15)))
        corners = (x - half, y - half), (x + half, y + half)
        cv2.rectangle(self.image, *corners, colour, -1)
        cv2.rectangle(self.owner, *corners, (0xFFFF,), -1)

    def finish(self):
        """Set each figure's joint status from what the owner map shows at its centre.

        A joint without a disc in the figure's style (face on AIC, head top and neck
        on COCO) counts as hidden; the writers never emit those joints.
        """
        h, w = self.owner.shape
        for i, fig in enumerate(self.figures):
            status = np.full(19, HIDDEN, np.int32)
            for k, (x, y) in enumerate(fig.joints):
                if not (0 <= x < w and 0 <= y < h):
                    status[k] = OUTSIDE
                elif k in fig.disc_joints and self.owner[y, x] == self._code(i, k):
                    status[k] = VISIBLE
            fig.status = status

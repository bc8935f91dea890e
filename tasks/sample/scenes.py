"""Compose one sample image: 1-3 large figures, optionally a crowd or a small unlabeled person.

The image is cut into vertical slots, one figure (or crowd) per slot, so large
figures rarely overlap; when they do, the owner map marks the covered joints
hidden. Everything is drawn from the `rng` passed in, so a seed fixes the scene.
"""
from dataclasses import dataclass

import cv2
import numpy as np

from tasks.sample.figures import (AIC_STYLE_JOINTS, COCO_STYLE_JOINTS, Canvas, Figure,
                                  background, place_figure, pose_extent, sample_pose)

MIN_HEIGHT, MAX_HEIGHT = 120, 300   # body height of a labeled figure, pixels
SMALL_HEIGHT = (40, 70)             # an unlabeled person: too small to annotate
OCCLUDE_P = 0.25                    # chance that one joint of a figure is covered
CUT_P = 0.08                        # chance that a figure's feet leave the image


@dataclass
class Person:
    """A drawn person as the annotation writers need it.

    kind: "person" (joints labeled), "small" (box only) or "crowd" (a group, one box).
    bbox: [x, y, w, h] of the drawn pixels inside the image; polygon: convex hull, flat.
    """
    kind: str
    bbox: list
    polygon: list
    area: float
    figure: Figure = None
    mask: np.ndarray = None


def _fit_pose(rng, slot_w, img_h):
    """A pose and the largest height (px) that fits the slot; retries wide poses."""
    for _ in range(50):
        pose = sample_pose(rng)
        x0, y0, x1, y1 = pose_extent(pose)
        h_max = min(MAX_HEIGHT, (img_h - 4) / (y1 - y0), 1.1 * slot_w / (x1 - x0))
        if h_max >= MIN_HEIGHT:
            return pose, h_max
    raise RuntimeError(f"no pose fits a {slot_w:.0f} px slot in a {img_h} px high image")


def _hip_position(rng, pose, height, x_range, y_range, cut=False):
    """Hip centre keeping the figure inside `x_range` x `y_range` (feet below if `cut`)."""
    x0, y0, x1, y1 = (v * height for v in pose_extent(pose))

    def pick(lo, hi):
        return rng.uniform(lo, hi) if hi > lo else (lo + hi) / 2

    x = pick(x_range[0] - x0, x_range[1] - x1)
    if cut:  # both ankles below the bottom edge
        feet = pose[[15, 16], 1].min() * height
        return x, y_range[1] - feet + rng.uniform(3, 0.15 * height)
    return x, pick(y_range[0] - y0, y_range[1] - y1)


def _outline(mask):
    """bbox [x, y, w, h], convex hull polygon (flat) and its area, of a 0/1 mask."""
    pts = cv2.findNonZero(mask)
    x, y, w, h = cv2.boundingRect(pts)
    hull = cv2.convexHull(pts)[:, 0, :].astype(float)
    return [float(x), float(y), float(w), float(h)], hull.ravel().tolist(), float(
        cv2.contourArea(hull.astype(np.float32)))


def _small_figures(rng, canvas, slot, img_h, count, joints):
    """`count` small figures in one horizontal band of the slot (a crowd clumps)."""
    band = 1.6 * SMALL_HEIGHT[1] if count > 1 else img_h - 4
    top = rng.uniform(2, img_h - 2 - band)
    figs = []
    for _ in range(count):
        pose = sample_pose(rng)
        height = rng.uniform(*SMALL_HEIGHT)
        x, y = _hip_position(rng, pose, height, slot, (top, top + band))
        fig = place_figure(pose, height, (x, y), joints)
        canvas.add(fig)
        figs.append(fig)
    return figs


def compose_scene(rng, width, height, n_people, extra=None, style="coco"):
    """Draw one image; returns (BGR image, [Person]).

    extra: None, "small" (one unlabeled small person) or "crowd" (a clump of
    small figures annotated as one crowd region). style: "coco" draws face
    discs, "aic" draws head top and neck discs instead.
    """
    joints = COCO_STYLE_JOINTS if style == "coco" else AIC_STYLE_JOINTS
    canvas = Canvas(background(rng, width, height))
    kinds = ["person"] * n_people + ([extra] if extra else [])
    order = rng.permutation(len(kinds))
    slot_w = width / len(kinds)
    slots = {kind_i: (slot_w * s, slot_w * (s + 1)) for s, kind_i in enumerate(order)}
    people = []

    # Extras stand behind the labeled figures, so they are drawn first.
    if extra:
        slot = slots[len(kinds) - 1]
        count = int(rng.integers(4, 7)) if extra == "crowd" else 1
        figs = _small_figures(rng, canvas, slot, height, count, joints)
        mask = np.zeros((height, width), np.uint8)
        for fig in figs:
            mask |= fig.mask
        people.append(Person(extra, *_outline(mask), mask=mask))

    fitted = [_fit_pose(rng, slot_w, height) for _ in range(n_people)]
    sizes = [rng.uniform(MIN_HEIGHT, h_max) for _, h_max in fitted]
    for i in np.argsort(sizes, kind="stable"):  # smaller (farther) figures first
        pose, size = fitted[i][0], sizes[i]
        x, y = _hip_position(rng, pose, size, slots[i], (2, height - 2),
                             cut=rng.random() < CUT_P)
        fig = place_figure(pose, size, (x, y), joints)
        canvas.add(fig)
        people.append(Person("person", *_outline(fig.mask), figure=fig))

    for person in people:
        fig = person.figure
        if fig is not None and rng.random() < OCCLUDE_P:
            k = int(rng.choice(fig.disc_joints))
            canvas.occlude(rng, fig.joints[k], fig.disc_radius + 3)
    canvas.finish()
    people.sort(key=lambda p: (p.kind != "person", p.bbox[0]))
    return canvas.image, people

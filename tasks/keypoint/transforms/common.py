"""Common augmentation: random half body, scale, rotation and horizontal flip."""
import numpy as np

from tasks.transforms import RandomTransform

from ..geometry import COCO_FLIP_PAIRS, COCO_UPPER_BODY_IDS, PIXEL_STD
from .registry import TRANSFORMS


@TRANSFORMS.register
class RandomFlipHalfBody(RandomTransform):
    """PaddleDetection's ``RandomFlipHalfBodyTransform``, draw for draw.

    Reads/writes ``image`` [H, W, 3], ``keypoints`` [K, 2] (source pixels),
    ``keypoints_visible`` [K], ``center`` [2], ``scale`` [2]; writes ``rotation``
    (degrees) and ``flipped`` (bool).

    1. Half body, with probability ``prob_half_body`` when more than
       ``num_joints_half_body`` joints are visible: the box becomes that of the
       upper or the lower body joints (upper when a standard normal draw is
       < 0.5, i.e. about 69 % of the time, PaddleDetection's rule, and it has
       more than 2 visible joints), fitted to the input's aspect ratio, x1.5.
    2. Scale x clip(N(1, scale_factor), 1 - f, 1 + f).
    3. Rotation clip(N(0, rot_factor), -2 r, 2 r) degrees with probability ``rot_prob``.
    4. Flip with probability ``flip_prob``: the image is mirrored (as a
       zero-copy view; ``TopDownAffine`` folds it into its warp), x -> W - 1 - x,
       left/right joints swapped, invisible joints zeroed.
    """

    def __init__(self, input_size, scale_factor=0.25, rot_factor=30.0, rot_prob=0.6,
                 prob_half_body=0.3, num_joints_half_body=8, flip_prob=0.5,
                 flip_pairs=COCO_FLIP_PAIRS, upper_body_ids=COCO_UPPER_BODY_IDS,
                 pixel_std=PIXEL_STD, seed=None):
        super().__init__(seed)
        self.aspect_ratio = input_size[0] / input_size[1]
        self.scale_factor = scale_factor
        self.rot_factor = rot_factor
        self.rot_prob = rot_prob
        self.prob_half_body = prob_half_body
        self.num_joints_half_body = num_joints_half_body
        self.flip_prob = flip_prob
        self.flip_pairs = tuple(tuple(p) for p in flip_pairs)
        self.upper_body_ids = frozenset(upper_body_ids)
        self.pixel_std = pixel_std

    def half_body(self, keypoints, visible, rng):
        """-> (center, scale) of the upper or lower body box, or None when under 2 joints qualify."""
        ids = np.flatnonzero(visible > 0)
        upper = [i for i in ids if i in self.upper_body_ids]
        lower = [i for i in ids if i not in self.upper_body_ids]
        if rng.standard_normal() < 0.5 and len(upper) > 2:
            chosen = upper
        else:
            chosen = lower if len(lower) > 2 else upper
        if len(chosen) < 2:
            return None
        points = keypoints[chosen].astype(np.float32)
        center = points.mean(axis=0)
        w, h = points.max(axis=0) - points.min(axis=0)
        if w > self.aspect_ratio * h:
            h = w / self.aspect_ratio
        elif w < self.aspect_ratio * h:
            w = h * self.aspect_ratio
        scale = np.array([w / self.pixel_std, h / self.pixel_std], dtype=np.float32) * np.float32(1.5)
        return center, scale

    def __call__(self, results):
        rng = self.rng(results)
        keypoints = np.asarray(results["keypoints"], dtype=np.float32)
        visible = np.asarray(results["keypoints_visible"], dtype=np.float32)
        center = np.array(results["center"], dtype=np.float32)
        scale = np.array(results["scale"], dtype=np.float32)

        if visible.sum() > self.num_joints_half_body and rng.random() < self.prob_half_body:
            box = self.half_body(keypoints, visible, rng)
            if box is not None:
                center, scale = box
        f = self.scale_factor
        scale = scale * np.float32(np.clip(rng.standard_normal() * f + 1, 1 - f, 1 + f))
        rotation = 0.0
        if rng.random() <= self.rot_prob:
            r = self.rot_factor
            rotation = float(np.clip(rng.standard_normal() * r, -2 * r, 2 * r))

        flipped = bool(rng.random() <= self.flip_prob)
        if flipped:
            image = results["image"]
            width = image.shape[1]
            results["image"] = image[:, ::-1]
            order = np.arange(len(keypoints))
            for left, right in self.flip_pairs:
                order[left], order[right] = right, left
            keypoints, visible = keypoints[order], visible[order]
            keypoints[:, 0] = width - 1 - keypoints[:, 0]
            keypoints *= visible[:, None]
            center[0] = width - 1 - center[0]

        results.update(keypoints=keypoints, keypoints_visible=visible, center=center,
                       scale=scale, rotation=rotation, flipped=flipped)
        return results

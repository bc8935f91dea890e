"""PicoDet data transforms (PaddleDetection's ppdet/data/transform operators, own code).

A sample is a dict: ``image`` [H, W, 3] RGB, ``gt_bbox`` [n, 4] x1y1x2y2 float32
pixels, ``gt_class`` [n, 1] int32, ``ignore_bbox`` [k, 4] (crowd boxes: they move with
the image; the loss ignores anchors inside them), ``image_id``, ``rng`` (a numpy
Generator: the draws of sample ``i`` of epoch ``e`` depend on (seed, e, i) only).

Sample transforms take and return one sample (``LoadImage``, ``RandomCrop``,
``RandomFlip``, ``RandomDistort``, ``Resize``, ``NormalizeImage``, ``Permute``).
Batch transforms (subclasses of ``BatchTransform``: ``BatchRandomResize``, ``PadGT``)
take the batch's samples and a batch generator. ``TRANSFORMS`` builds both from a
config's ``{type: Name, arg: value}`` lists; ``LoadImage``, ``NormalizeImage`` and
``Permute`` are shared with TinyPose (tasks.transforms), registered here too.
"""
import cv2
import numpy as np

from tasks.common.registry import Registry
from tasks.transforms import SHARED_TRANSFORMS, RandomTransform

TRANSFORMS = Registry("detection transform")
for _shared in SHARED_TRANSFORMS:
    TRANSFORMS.register(_shared)

# BatchRandomResize's random_interp choices, in PaddleDetection's order.
INTERPOLATIONS = (cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.INTER_AREA, cv2.INTER_CUBIC, cv2.INTER_LANCZOS4)


class BatchTransform:
    """A transform of the whole batch: ``__call__(samples, rng) -> samples``."""


def _iou_with(boxes, box):
    """IoU [n] of x1y1x2y2 boxes [n, 4] with one box, PaddleDetection's RandomCrop formula."""
    top_left = np.maximum(boxes[:, :2], box[:2])
    bottom_right = np.minimum(boxes[:, 2:], box[2:])
    inter = np.prod(bottom_right - top_left, axis=1) * (top_left < bottom_right).all(axis=1)
    union = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1) + np.prod(box[2:] - box[:2]) - inter
    return inter / (union + 1e-10)


def _clip_shift(boxes, crop):
    """Boxes clipped to ``crop`` (x1y1x2y2) and moved to its origin."""
    out = boxes.copy()
    out[:, :2] = np.maximum(boxes[:, :2], crop[:2]) - crop[:2]
    out[:, 2:] = np.minimum(boxes[:, 2:], crop[2:]) - crop[:2]
    return out


@TRANSFORMS.register
class RandomCrop(RandomTransform):
    """PaddleDetection's ``RandomCrop`` (SSD-style), draw for draw in its order.

    The IoU thresholds (plus "no crop" when ``allow_no_crop``) are shuffled; for each,
    up to ``num_attempts`` crops of scale U(scaling) and aspect ratio
    U(max(ar_min, s^2), min(ar_max, s^-2)) are drawn, at a random integer corner; the
    first whose best IoU with a box reaches the threshold and that keeps a box centre
    strictly inside is taken: boxes are clipped to it, those whose centre is outside are
    dropped. A sample without boxes is left as it is. Crowd (``ignore_bbox``) boxes are
    clipped and shifted the same way and kept while they still have an area.
    """

    def __init__(self, aspect_ratio=(0.5, 2.0), thresholds=(0.0, 0.1, 0.3, 0.5, 0.7, 0.9), scaling=(0.3, 1.0),
                 num_attempts=50, allow_no_crop=True, cover_all_box=False, seed=None):
        super().__init__(seed)
        self.aspect_ratio = None if aspect_ratio is None else tuple(aspect_ratio)
        self.thresholds = tuple(thresholds)
        self.scaling = tuple(scaling)
        self.num_attempts = int(num_attempts)
        self.allow_no_crop = bool(allow_no_crop)
        self.cover_all_box = bool(cover_all_box)

    def _draw_crop(self, rng, height, width):
        """One candidate [x1, y1, x2, y2] (float32), or None when its shape is rejected."""
        scale = rng.uniform(*self.scaling)
        if self.aspect_ratio is not None:
            low, high = self.aspect_ratio
            ratio = rng.uniform(max(low, scale ** 2), min(high, scale ** -2))
            h_scale, w_scale = scale / np.sqrt(ratio), scale * np.sqrt(ratio)
        else:
            h_scale, w_scale = rng.uniform(*self.scaling), rng.uniform(*self.scaling)
        crop_h, crop_w = height * h_scale, width * w_scale
        if self.aspect_ratio is None and not 0.5 <= crop_h / crop_w <= 2.0:
            return None
        crop_h, crop_w = int(crop_h), int(crop_w)
        y = rng.integers(0, max(height - crop_h, 1))
        x = rng.integers(0, max(width - crop_w, 1))
        return np.array([x, y, x + crop_w, y + crop_h], dtype=np.float32)

    def _find_crop(self, rng, boxes, height, width):
        """(crop, indices of the boxes kept) or None for no crop."""
        choices = list(self.thresholds) + ([None] if self.allow_no_crop else [])
        for pick in rng.permutation(len(choices)):
            threshold = choices[pick]
            if threshold is None:
                return None
            for _ in range(self.num_attempts):
                crop = self._draw_crop(rng, height, width)
                if crop is None:
                    continue
                iou = _iou_with(boxes, crop)
                if iou.max() < threshold or (self.cover_all_box and iou.min() < threshold):
                    continue
                centers = (boxes[:, :2] + boxes[:, 2:]) / 2
                cropped = _clip_shift(boxes, crop)
                keep = np.flatnonzero(((crop[:2] <= centers) & (centers < crop[2:])).all(axis=1)
                                      & (cropped[:, :2] < cropped[:, 2:]).all(axis=1))
                if keep.size:
                    return crop, keep
        return None

    def __call__(self, results):
        boxes = results["gt_bbox"]
        if len(boxes) == 0:
            return results
        height, width = results["image"].shape[:2]
        found = self._find_crop(self.rng(results), boxes, height, width)
        if found is None:
            return results
        crop, keep = found
        x1, y1, x2, y2 = crop.astype(int)
        results["image"] = results["image"][y1:y2, x1:x2]
        results["gt_bbox"] = _clip_shift(boxes, crop)[keep]
        results["gt_class"] = results["gt_class"][keep]
        ignore = _clip_shift(results["ignore_bbox"], crop)
        results["ignore_bbox"] = ignore[(ignore[:, :2] < ignore[:, 2:]).all(axis=1)]
        return results


@TRANSFORMS.register
class RandomFlip(RandomTransform):
    """Mirror the image left-right with probability ``prob``: x1' = W - x2, x2' = W - x1."""

    def __init__(self, prob=0.5, seed=None):
        super().__init__(seed)
        self.prob = float(prob)

    def __call__(self, results):
        if not self.rng(results).uniform(0.0, 1.0) < self.prob:
            return results
        image = results["image"]
        width = image.shape[1]
        results["image"] = image[:, ::-1]
        for key in ("gt_bbox", "ignore_bbox"):
            boxes = results[key]
            results[key] = np.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]],
                                    axis=1).astype(np.float32)
        results["flipped"] = True
        return results


# YIQ colour space (PaddleDetection's RandomDistort hue: a rotation of the I/Q plane)
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.321], [0.211, -0.523, 0.311]])
_YIQ_TO_RGB = np.array([[1.0, 0.956, 0.621], [1.0, -0.272, -0.647], [1.0, -1.107, 1.705]])
_LUMA = np.array([0.299, 0.587, 0.114])


@TRANSFORMS.register
class RandomDistort(RandomTransform):
    """PaddleDetection's ``RandomDistort`` with ``random_apply`` (its default, PicoDet's setting).

    Brightness, contrast, saturation and hue are applied in a random order (the first
    ``count`` of a permutation); each is skipped with probability p of its
    [low, high, p] (p is the probability of *not* distorting, as in PaddleDetection),
    else its delta is U(low, high): brightness adds delta (on 0..255 pixels),
    contrast multiplies by it, saturation blends with the luma by it, hue rotates
    the YIQ chroma plane by delta * pi radians (PaddleDetection's formula, with
    delta in [-18, 18]). The image becomes float32, unclipped.

    Each step is an affine map of the RGB vector, so the steps are composed into one
    3x4 matrix and applied in one pass (``cv2.transform``) instead of four passes
    over the image; the result equals the step-by-step one up to float rounding.
    """

    def __init__(self, hue=(-18, 18, 0.5), saturation=(0.5, 1.5, 0.5), contrast=(0.5, 1.5, 0.5),
                 brightness=(0.5, 1.5, 0.5), count=4, seed=None):
        super().__init__(seed)
        self.steps = (("brightness", tuple(brightness)), ("contrast", tuple(contrast)),
                      ("saturation", tuple(saturation)), ("hue", tuple(hue)))
        self.count = int(count)

    @staticmethod
    def step_map(name, delta):
        """(A [3, 3], c [3]) of one step on row vectors: rgb' = rgb @ A + c."""
        if name == "brightness":
            return np.eye(3), np.full(3, delta)
        if name == "contrast":
            return np.eye(3) * delta, np.zeros(3)
        if name == "saturation":
            return delta * np.eye(3) + (1.0 - delta) * _LUMA[:, None], np.zeros(3)
        u, w = np.cos(delta * np.pi), np.sin(delta * np.pi)
        rotate = np.array([[1.0, 0.0, 0.0], [0.0, u, -w], [0.0, w, u]])
        return (_YIQ_TO_RGB @ rotate @ _RGB_TO_YIQ).T, np.zeros(3)

    def draw(self, rng):
        """The affine map (M [3, 3], b [3]) of one draw, or None when no step applies."""
        matrix, offset, applied = np.eye(3), np.zeros(3), False
        for index in rng.permutation(len(self.steps))[:self.count]:
            name, (low, high, skip_prob) = self.steps[index]
            if rng.uniform(0.0, 1.0) < skip_prob:
                continue
            step, shift = self.step_map(name, rng.uniform(low, high))
            matrix, offset, applied = matrix @ step, offset @ step + shift, True
        return (matrix, offset) if applied else None

    def __call__(self, results):
        mapping = self.draw(self.rng(results))
        if mapping is not None:
            matrix, offset = mapping
            image = np.ascontiguousarray(results["image"], dtype=np.float32)
            transform = np.concatenate([matrix.T, offset[:, None]], axis=1).astype(np.float32)
            results["image"] = cv2.transform(image, transform)
        return results


def resize_sample(results, size, interpolation):
    """Resize the image to ``size`` (w, h) without keeping its ratio; boxes scaled and
    clipped to the new image; ``im_shape`` (h, w) and ``scale_factor`` (y, x) updated."""
    width, height = int(size[0]), int(size[1])
    image = results["image"]
    scale_y, scale_x = height / image.shape[0], width / image.shape[1]
    results["image"] = cv2.resize(np.ascontiguousarray(image), (width, height),
                                  interpolation=int(interpolation)).astype(np.float32, copy=False)
    results["im_shape"] = np.array([height, width], dtype=np.float32)
    previous = results.get("scale_factor", np.ones(2, np.float32))
    results["scale_factor"] = np.array([previous[0] * scale_y, previous[1] * scale_x], dtype=np.float32)
    for key in ("gt_bbox", "ignore_bbox"):
        if key in results:
            boxes = results[key] * np.array([scale_x, scale_y, scale_x, scale_y], dtype=np.float32)
            boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, width)
            boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, height)
            results[key] = boxes.astype(np.float32)
    return results


@TRANSFORMS.register
class Resize:
    """Resize to ``input_size`` [w, h] (a config's model.input_size unless the entry sets
    it), ratio not kept; ``interp`` a cv2 flag (2 = cubic, PicoDet's eval setting)."""

    def __init__(self, input_size, interp=cv2.INTER_LINEAR):
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.interp = int(interp)

    def __call__(self, results):
        return resize_sample(results, self.input_size, self.interp)


@TRANSFORMS.register
class BatchRandomResize(BatchTransform):
    """Resize every sample of a batch to one size drawn from ``target_size`` (an int s is
    s x s, a pair is [w, h]), with an interpolation drawn from ``INTERPOLATIONS`` when
    ``random_interp``; ratio not kept (PicoDet's ``keep_ratio: false``)."""

    def __init__(self, target_size, random_size=True, random_interp=True, interp=cv2.INTER_NEAREST):
        self.target_sizes = [(int(s), int(s)) if np.isscalar(s) else (int(s[0]), int(s[1])) for s in target_size]
        if not self.target_sizes:
            raise ValueError("target_size is empty")
        self.random_size = bool(random_size)
        self.random_interp = bool(random_interp)
        self.interp = int(interp)

    def __call__(self, samples, rng):
        size = self.target_sizes[rng.integers(len(self.target_sizes))] if self.random_size else self.target_sizes[0]
        interp = INTERPOLATIONS[rng.integers(len(INTERPOLATIONS))] if self.random_interp else self.interp
        return [resize_sample(sample, size, interp) for sample in samples]


def _pad(arrays, rows, width, dtype):
    """[B, rows, width] zeros with each array's rows at the top, and the mask [B, rows, 1]."""
    out = np.zeros((len(arrays), rows, width), dtype=dtype)
    mask = np.zeros((len(arrays), rows, 1), dtype=np.float32)
    for i, array in enumerate(arrays):
        out[i, :len(array)] = array
        mask[i, :len(array)] = 1.0
    return out, mask


@TRANSFORMS.register
class PadGT(BatchTransform):
    """Pad each sample's boxes to the batch's largest count (at least ``min_boxes``, so a
    batch without persons still has a [B, 1, 4] all-padding tensor).

    Writes ``gt_bbox`` [M, 4], ``gt_class`` [M, 1] int32, ``pad_gt_mask`` [M, 1] (1 for
    a real box) and ``ignore_bbox`` [K, 4], ``pad_ignore_mask`` [K, 1] in every sample.
    """

    def __init__(self, min_boxes=1):
        self.min_boxes = int(min_boxes)

    def __call__(self, samples, rng):
        for boxes_key, class_key, mask_key in (("gt_bbox", "gt_class", "pad_gt_mask"),
                                               ("ignore_bbox", None, "pad_ignore_mask")):
            rows = max([self.min_boxes] + [len(s[boxes_key]) for s in samples])
            boxes, mask = _pad([s[boxes_key] for s in samples], rows, 4, np.float32)
            classes = _pad([s[class_key] for s in samples], rows, 1, np.int32)[0] if class_key else None
            for i, sample in enumerate(samples):
                sample[boxes_key], sample[mask_key] = boxes[i], mask[i]
                if class_key:
                    sample[class_key] = classes[i]
        return samples

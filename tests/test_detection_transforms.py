"""PicoDet transforms against hand-computed cases and PaddleDetection's formulas."""
import cv2
import numpy as np
import pytest

from tasks.detection.transforms import (INTERPOLATIONS, BatchRandomResize, PadGT, RandomCrop, RandomDistort,
                                        RandomFlip, Resize)


class ScriptedRng:
    """Stands in for numpy's Generator: returns scripted draws in order."""

    def __init__(self, uniform=(), integers=(), permutation=None):
        self._uniform, self._integers, self._permutation = list(uniform), list(integers), permutation

    def uniform(self, low=0.0, high=1.0):
        value = self._uniform.pop(0)
        assert low <= value <= high, (low, value, high)
        return value

    def integers(self, low, high=None):
        value = self._integers.pop(0)
        assert (0 if high is None else low) <= value < (low if high is None else high)
        return value

    def permutation(self, n):
        return np.arange(n) if self._permutation is None else np.asarray(self._permutation)


def sample(height=100, width=200, boxes=((10, 10, 50, 50), (150, 60, 190, 90)), ignore=(), rng=None):
    image = np.arange(height * width * 3, dtype=np.uint32).reshape(height, width, 3).astype(np.uint8)
    boxes = np.array(boxes, dtype=np.float32).reshape(-1, 4)
    return {"image": image, "gt_bbox": boxes, "gt_class": np.arange(len(boxes), dtype=np.int32)[:, None],
            "ignore_bbox": np.array(ignore, dtype=np.float32).reshape(-1, 4), "image_id": 3, "rng": rng}


def test_random_crop_hand_computed():
    # scale 0.5, aspect ratio 1 -> crop 50 x 100 at (x 0, y 5): [0, 5, 100, 55].
    rng = ScriptedRng(uniform=[0.5, 1.0], integers=[5, 0])
    results = sample(ignore=[(40, 0, 120, 20), (0, 80, 10, 90)], rng=rng)
    image = results["image"].copy()
    out = RandomCrop(thresholds=[0.0], allow_no_crop=False)(results)
    np.testing.assert_array_equal(out["image"], image[5:55, 0:100])
    # box 1 (centre 30, 30) is inside the crop, box 2 (centre 170, 75) is not
    np.testing.assert_array_equal(out["gt_bbox"], [[10, 5, 50, 45]])
    np.testing.assert_array_equal(out["gt_class"], [[0]])
    # crowd boxes: clipped and shifted; the second has no area left
    np.testing.assert_array_equal(out["ignore_bbox"], [[40, 0, 100, 15]])


def test_random_crop_no_crop_choice_and_empty_sample():
    rng = ScriptedRng(permutation=[1, 0])  # "no crop" is drawn first
    results = sample(rng=rng)
    image = results["image"]
    out = RandomCrop(thresholds=[0.5])(results)
    assert out["image"] is image and len(out["gt_bbox"]) == 2
    empty = sample(boxes=(), rng=ScriptedRng())  # nothing drawn without a box
    assert RandomCrop()(empty)["image"].shape == (100, 200, 3)


def test_random_crop_keeps_boxes_inside_whatever_the_draws():
    crop = RandomCrop()
    for seed in range(30):
        results = crop(sample(rng=np.random.default_rng(seed), ignore=[(0, 0, 200, 100)]))
        h, w = results["image"].shape[:2]
        boxes = results["gt_bbox"]
        assert len(boxes) >= 1 and len(boxes) == len(results["gt_class"])
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= w).all() and (boxes[:, 3] <= h).all()
        np.testing.assert_array_equal(results["ignore_bbox"], [[0, 0, w, h]])


def test_random_flip_mirrors_image_and_boxes():
    results = sample(ignore=[(0, 0, 20, 10)], rng=ScriptedRng(uniform=[0.49]))
    image = results["image"].copy()
    out = RandomFlip(prob=0.5)(results)
    np.testing.assert_array_equal(out["image"], image[:, ::-1])
    np.testing.assert_array_equal(out["gt_bbox"], [[150, 10, 190, 50], [10, 60, 50, 90]])
    np.testing.assert_array_equal(out["ignore_bbox"], [[180, 0, 200, 10]])
    kept = RandomFlip(prob=0.5)(sample(rng=ScriptedRng(uniform=[0.5])))
    np.testing.assert_array_equal(kept["gt_bbox"][0], [10, 10, 50, 50])


def paddledetection_distort(image, rng, count=4, ranges=((0.5, 1.5, 0.5),) * 3 + ((-18, 18, 0.5),)):
    """PaddleDetection's RandomDistort(random_apply=True), step by step, same draw order."""
    img = image.astype(np.float32)
    for index in rng.permutation(4)[:count]:
        low, high, prob = ranges[index]
        if rng.uniform(0.0, 1.0) < prob:
            continue
        delta = rng.uniform(low, high)
        if index == 0:    # brightness
            img = img + delta
        elif index == 1:  # contrast
            img = img * delta
        elif index == 2:  # saturation
            gray = (img * np.array([0.299, 0.587, 0.114], np.float32)).sum(axis=2, keepdims=True)
            img = img * delta + gray * (1.0 - delta)
        else:             # hue
            u, w = np.cos(delta * np.pi), np.sin(delta * np.pi)
            bt = np.array([[1.0, 0.0, 0.0], [0.0, u, -w], [0.0, w, u]])
            tyiq = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.321], [0.211, -0.523, 0.311]])
            ityiq = np.array([[1.0, 0.956, 0.621], [1.0, -0.272, -0.647], [1.0, -1.107, 1.705]])
            img = np.dot(img, np.dot(np.dot(ityiq, bt), tyiq).T)
    return img


@pytest.mark.parametrize("seed", range(8))
def test_random_distort_equals_paddledetections_steps(seed):
    image = np.random.default_rng(100 + seed).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    expected = paddledetection_distort(image, np.random.default_rng(seed))
    out = RandomDistort()({"image": image, "rng": np.random.default_rng(seed)})["image"]
    if out is image:  # every step skipped
        np.testing.assert_array_equal(expected, image)
    else:
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-3)


def test_resize_scales_clips_and_records_the_factors():
    results = sample(boxes=[(10, 10, 50, 50), (180, 90, 250, 130)])
    out = Resize([192, 192], interp=cv2.INTER_CUBIC)(results)
    assert out["image"].shape == (192, 192, 3) and out["image"].dtype == np.float32
    np.testing.assert_allclose(out["gt_bbox"], [[9.6, 19.2, 48, 96], [172.8, 172.8, 192, 192]], rtol=1e-6)
    np.testing.assert_allclose(out["im_shape"], [192, 192])
    np.testing.assert_allclose(out["scale_factor"], [1.92, 0.96], rtol=1e-6)


def test_batch_random_resize_draws_one_size_and_interpolation_for_the_batch():
    op = BatchRandomResize([128, 160, [224, 96]])
    seen = set()
    for seed in range(20):
        batch = op([sample(), sample(height=60, width=50)], np.random.default_rng(seed))
        shapes = {s["image"].shape for s in batch}
        assert len(shapes) == 1
        seen |= shapes
    assert seen == {(128, 128, 3), (160, 160, 3), (96, 224, 3)}
    fixed = BatchRandomResize([64], random_interp=False, interp=cv2.INTER_AREA)
    assert fixed([sample()], ScriptedRng(integers=[0]))[0]["image"].shape == (64, 64, 3)
    assert cv2.INTER_LANCZOS4 in INTERPOLATIONS and len(INTERPOLATIONS) == 5


def test_pad_gt_pads_boxes_classes_and_crowd_boxes():
    batch = PadGT()([sample(ignore=[(1, 2, 3, 4)]), sample(boxes=())], None)
    first, second = batch
    assert first["gt_bbox"].shape == (2, 4) and first["gt_class"].dtype == np.int32
    np.testing.assert_array_equal(first["pad_gt_mask"][:, 0], [1, 1])
    np.testing.assert_array_equal(second["pad_gt_mask"][:, 0], [0, 0])
    np.testing.assert_array_equal(second["gt_bbox"], np.zeros((2, 4)))
    np.testing.assert_array_equal(first["ignore_bbox"], [[1, 2, 3, 4]])
    np.testing.assert_array_equal(second["pad_ignore_mask"], [[0]])
    empty = PadGT()([sample(boxes=())], None)[0]
    assert empty["gt_bbox"].shape == (1, 4) and empty["pad_gt_mask"].sum() == 0

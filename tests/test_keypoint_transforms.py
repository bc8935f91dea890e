"""Top-down transforms and geometry against hand-computed cases."""
import copy

import cv2
import numpy as np
import pytest

from tasks.keypoint.geometry import (COCO_FLIP_PAIRS, apply_affine, boxes_to_centers_scales, clip_boxes_xywh,
                                     flip_back_heatmaps, flip_test, to_image_coords, udp_warp_matrix)
from tasks.keypoint.transforms import InformationDropping, PackInputs, RandomFlipHalfBody, TopDownAffine
from tasks.transforms import Compose, LoadImage, NormalizeImage, Permute


class ScriptedRng:
    """Stands in for numpy's Generator: returns scripted draws in order."""

    def __init__(self, random=(), normal=()):
        self._random, self._normal = list(random), list(normal)

    def random(self):
        return self._random.pop(0)

    def standard_normal(self, size=None):
        return self._normal.pop(0)


def person_keypoints():
    """17 plausible COCO keypoints of a standing person inside box xywh (220, 60, 200, 380)."""
    return np.array([[320, 100], [330, 90], [310, 90], [340, 95], [300, 95], [360, 150], [280, 150],
                     [375, 210], [265, 210], [380, 260], [260, 260], [345, 270], [295, 270],
                     [345, 350], [295, 350], [345, 420], [295, 420]], dtype=np.float32)


def test_boxes_to_centers_scales_numbers():
    (center,), (scale,) = boxes_to_centers_scales([(220, 60, 200, 380)], (96, 128))
    # Tall box: w = 380 * 0.75 = 285; scale = (285, 380) / 200 * 1.25.
    np.testing.assert_array_equal(center, [320, 250])
    np.testing.assert_allclose(scale, [1.78125, 2.375])
    (center,), (scale,) = boxes_to_centers_scales([(0, 0, 300, 100)], (192, 256))
    # Wide box: h = 300 / 0.75 = 400.
    np.testing.assert_array_equal(center, [150, 50])
    np.testing.assert_allclose(scale, [1.875, 2.5])
    assert center.dtype == scale.dtype == np.float32


def test_clip_box_uses_inclusive_convention():
    boxes, valid = clip_boxes_xywh([(-10, 5, 50, 1000), (120, 5, 10, 10)], [100, 100], [200, 200])
    np.testing.assert_array_equal(boxes[0], [0, 5, 49, 194])
    assert valid.tolist() == [True, False]


def test_udp_warp_maps_known_points():
    center, scale = np.array([320.0, 250.0]), np.array([1.78125, 2.375])
    m = udp_warp_matrix(center, scale, 0.0, (96, 128))
    # Centre -> ((w-1)/2, (h-1)/2); the crop's left/top edge (centre - span/2) -> pixel 0.
    np.testing.assert_allclose(apply_affine([[320, 250], [320 - 178.125, 250 - 237.5], [320 + 178.125, 250 + 237.5]], m),
                               [[47.5, 63.5], [0, 0], [95, 127]], atol=1e-9)
    # 90 degrees: a point 10 px right of the centre goes 10 * sy down, one 10 px below goes 10 * sx left.
    m = udp_warp_matrix(center, scale, 90.0, (96, 128))
    sx, sy = 95 / 356.25, 127 / 475
    np.testing.assert_allclose(apply_affine([[330, 250], [320, 260]], m),
                               [[47.5, 63.5 + 10 * sy], [47.5 - 10 * sx, 63.5]], atol=1e-9)


def test_top_down_affine_moves_a_pixel_to_a_known_pixel():
    # Scale so that 1 source pixel = 1 crop pixel: span (w-1, h-1). Centre (100.5, 80.5) -> (47.5, 63.5),
    # so crop (u, v) = source (x - 53, y - 17).
    image = np.zeros((200, 300, 3), np.uint8)
    image[30, 60] = (255, 128, 7)
    results = TopDownAffine((96, 128))({
        "image": image, "center": np.array([100.5, 80.5]), "scale": np.array([95 / 200, 127 / 200]),
        "keypoints": np.array([[60.0, 30.0], [53.0, 17.0]])})
    crop = results["image"]
    assert crop.shape == (128, 96, 3) and crop.dtype == np.uint8
    assert tuple(crop[13, 7]) == (255, 128, 7)
    assert crop.sum() == 255 + 128 + 7
    np.testing.assert_allclose(results["keypoints"], [[7, 13], [0, 0]], atol=1e-4)


def test_top_down_affine_folds_mirrored_view_into_the_warp():
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), (5, 5), 0)
    base = {"center": np.array([150.0, 120.0]), "scale": np.array([0.9, 1.2]), "rotation": 17.0}
    view = TopDownAffine((96, 128))({**base, "image": image[:, ::-1]})["image"]
    copied = TopDownAffine((96, 128))({**base, "image": np.ascontiguousarray(image[:, ::-1])})["image"]
    diff = np.abs(view.astype(int) - copied.astype(int))
    # Same sampling positions; only cv2's 1/32-pixel fixed-point rounding may differ.
    assert diff.mean() < 0.5 and diff.max() <= 8


def make_results(image=None):
    (center,), (scale,) = boxes_to_centers_scales([(220, 60, 200, 380)], (96, 128))
    return {"image": np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8) if image is None else image,
            "center": center, "scale": scale, "keypoints": person_keypoints(),
            "keypoints_visible": np.ones(17, np.float32)}


def test_flip_twice_is_identity():
    flip_only = RandomFlipHalfBody((96, 128), scale_factor=0.0, rot_prob=0.0, prob_half_body=0.0, flip_prob=1.0)
    original = make_results()
    original["keypoints_visible"][[3, 8]] = 0
    original["keypoints"][[3, 8]] = 0  # invisible joints are zeroed by a flip, keep them so here
    once = flip_only({**copy.deepcopy(original), "rng": np.random.default_rng(1)})
    assert once["flipped"] and once["rotation"] == 0.0
    # Left shoulder (5) at x=360 becomes the right shoulder (6) at 639 - 360.
    assert once["keypoints"][6, 0] == 639 - 360 and once["keypoints"][6, 1] == 150
    assert once["keypoints_visible"][4] == 0 and once["keypoints_visible"][7] == 0
    assert once["center"][0] == 639 - 320
    twice = flip_only({**once, "rng": np.random.default_rng(2)})
    np.testing.assert_array_equal(twice["image"], original["image"])
    for key in ("keypoints", "keypoints_visible", "center", "scale"):
        np.testing.assert_array_equal(twice[key], original[key])


@pytest.mark.parametrize("normal,expected", [(0.0, "upper"), (1.0, "lower")])
def test_half_body_chooses_upper_or_lower(normal, expected):
    transform = RandomFlipHalfBody((96, 128), scale_factor=0.0, rot_factor=0.0, prob_half_body=1.0, flip_prob=0.0)
    results = make_results()
    # Draws: half-body gate, upper/lower choice (N < 0.5 -> upper), scale, rotation gate, (rotation), flip gate.
    results["rng"] = ScriptedRng(random=[0.0, 0.0, 0.9], normal=[normal, 0.0, 0.0])
    out = transform(results)
    ids = range(11) if expected == "upper" else range(11, 17)
    points = person_keypoints()[list(ids)]
    np.testing.assert_allclose(out["center"], points.mean(axis=0), rtol=1e-6)
    w, h = points.max(axis=0) - points.min(axis=0)  # upper: 120 x 170, lower: 50 x 150
    w, h = max(w, 0.75 * h), max(h, w / 0.75)
    np.testing.assert_allclose(out["scale"], np.array([w, h]) / 200 * 1.5, rtol=1e-6)


def test_half_body_needs_more_than_eight_visible_joints():
    transform = RandomFlipHalfBody((96, 128), scale_factor=0.0, prob_half_body=1.0, flip_prob=0.0, rot_prob=0.0)
    results = make_results()
    results["keypoints_visible"][8:] = 0  # 8 visible: no half body
    center = results["center"].copy()
    out = transform({**results, "rng": np.random.default_rng(0)})
    np.testing.assert_array_equal(out["center"], center)


def brute_force_cutout(image, center, radius):
    """PaddleDetection's AID: the distance over every pixel of the full image."""
    h, w = image.shape[:2]
    xs, ys = np.meshgrid(np.arange(w), np.arange(h))
    dis = ((center[0] - xs) / radius) ** 2 + ((center[1] - ys) / radius) ** 2
    out = image.copy()
    out[(dis <= 1) & (dis >= 0)] = 0
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("flipped", [False, True])
def test_aid_drops_exactly_paddledetections_disc(seed, flipped):
    image = np.random.default_rng(0).integers(1, 256, (480, 640, 3), dtype=np.uint8)
    results = make_results(image[:, ::-1] if flipped else image.copy())
    results["keypoints_visible"][:5] = 0
    before = np.array(results["image"])
    out = InformationDropping((192, 256), prob_cutout=1.0)({**results, "rng": np.random.default_rng(seed)})
    # Replay the same draws to know the disc.
    rng = np.random.default_rng(seed)
    assert rng.random() < 1.0
    joint = rng.choice(np.arange(5, 17))
    center = person_keypoints()[joint] + rng.standard_normal(2) * 192 * 0.05
    radius = rng.uniform(0.1, 0.2) * 192
    expected = brute_force_cutout(before, center, radius)
    np.testing.assert_array_equal(np.array(out["image"]), expected)
    changed = (np.array(out["image"]) != before).any(axis=2)
    assert 0 < changed.sum() <= np.pi * radius ** 2 + 4 * radius + 4


def test_aid_probability_gate_leaves_image_alone():
    results = make_results()
    before = results["image"].copy()
    InformationDropping((96, 128), prob_cutout=0.5)({**results, "rng": ScriptedRng(random=[0.5])})
    np.testing.assert_array_equal(results["image"], before)


def test_normalize_permute_pack():
    image = np.full((4, 3, 3), (0, 128, 255), np.uint8)
    results = Compose([NormalizeImage(), Permute(), PackInputs(("image", "image_id", "center"))])(
        {"image": image, "image_id": 7, "center": [1.5, 2.5], "rng": None})
    assert set(results) == {"image", "image_id", "center"}
    assert results["image"].shape == (3, 4, 3) and results["image"].dtype == np.float32
    np.testing.assert_allclose(results["image"][:, 0, 0], [-0.485 / 0.229, (128 / 255 - 0.456) / 0.224,
                                                           (1 - 0.406) / 0.225], rtol=1e-6)
    assert results["image_id"].dtype == np.int64 and results["center"].dtype == np.float32


def test_load_image_rgb_and_clear_errors(tmp_path):
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), np.full((5, 6, 3), (255, 0, 0), np.uint8))  # BGR blue
    out = LoadImage()({"image_file": str(path)})
    assert out["image"].shape == (5, 6, 3) and tuple(out["image"][0, 0]) == (0, 0, 255)
    with pytest.raises(FileNotFoundError, match=r"missing\.jpg.*annotation id 12"):
        LoadImage()({"image_file": str(tmp_path / "missing.jpg"), "ann_id": 12})
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.raises(ValueError, match=r"bad\.jpg.*not a decodable image"):
        LoadImage()({"image_file": str(bad)})


def test_to_image_coords_inverts_the_udp_warp():
    rng = np.random.default_rng(0)
    centers, scales = rng.uniform(100, 300, (3, 2)), rng.uniform(0.5, 2, (3, 2))
    points = rng.uniform(0, 400, (3, 17, 2))
    crop = np.stack([apply_affine(p, udp_warp_matrix(c, s, 0.0, (96, 128)))
                     for p, c, s in zip(points, centers, scales)])
    np.testing.assert_allclose(to_image_coords(crop, centers, scales, (96, 128)), points, atol=1e-9)


def test_to_image_coords_paddledetection_mode():
    # transform_preds with center (w/2, h/2), scale (w, h)/200 is the identity; scale 2x doubles about w/2.
    points = np.array([[[0.0, 0.0], [10.0, 20.0], [96.0, 128.0]]])
    out = to_image_coords(points, [[48, 64]], [[0.48, 0.64]], (96, 128), use_udp=False)
    np.testing.assert_allclose(out, points)
    out = to_image_coords(points, [[48, 64]], [[0.96, 1.28]], (96, 128), use_udp=False)
    np.testing.assert_allclose(out, 48 + 2 * (points - [48, 64]) + [0, 16])


def test_flip_back_and_flip_test():
    heatmaps = np.zeros((1, 17, 8, 6), np.float32)
    heatmaps[0, 5, 3, 1] = 1.0  # left shoulder at column 1
    back = flip_back_heatmaps(heatmaps)
    assert back[0, 6, 3, 4] == 1.0 and back.sum() == 1.0  # right shoulder at column 6 - 1 - 1
    np.testing.assert_array_equal(flip_back_heatmaps(back), heatmaps)
    x = np.random.default_rng(0).normal(size=(2, 17, 8, 6)).astype(np.float32)
    swapped = x.copy()
    for left, right in COCO_FLIP_PAIRS:
        swapped[:, [left, right]] = x[:, [right, left]]
    # With an identity "network", the flipped pass returns the channel-swapped input.
    np.testing.assert_allclose(flip_test(lambda a: a, x, shift_heatmap=False), (x + swapped) / 2)
    shifted = swapped.copy()
    shifted[..., 1:] = swapped[..., :-1]
    np.testing.assert_allclose(flip_test(lambda a: a, x), (x + shifted) / 2)

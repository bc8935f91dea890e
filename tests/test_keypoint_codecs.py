"""Heatmap codecs: hand-placed peaks, round trips, PaddleDetection's bounds rule and DARK numerics."""
import cv2
import numpy as np
import pytest

from tasks.keypoint.codecs import CODECS, DarkHeatmap, UDPHeatmap, get_heatmap_maximum


def gaussian(w, h, x, y, sigma):
    xs, ys = np.arange(w), np.arange(h)[:, None]
    return np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma ** 2)).astype(np.float32)


@pytest.mark.parametrize("peak", [(10.3, 12.7), (7.55, 20.2), (15.0, 9.0), (11.9, 14.45)])
@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_dark_decode_recovers_subpixel_peak(peak, sigma):
    codec = DarkHeatmap((96, 128), (24, 32), sigma)
    heatmaps = gaussian(24, 32, *peak, sigma)[None, None]
    keypoints, scores = codec.decode(heatmaps)
    cell = keypoints[0, 0] / 4.0  # stride 4: input pixels -> heatmap cells
    assert np.abs(cell - peak).max() < 0.05
    assert scores[0, 0] == pytest.approx(heatmaps.max())


def test_argmax_only_near_border_and_nonpositive_maps():
    codec = DarkHeatmap((96, 128), (24, 32), 1.0)
    heatmaps = np.zeros((1, 3, 32, 24), np.float32)
    heatmaps[0, 0] = gaussian(24, 32, 1.3, 15.2, 1.0)  # within 2 cells of the border: no refinement
    heatmaps[0, 1] -= 1.0  # maximum <= 0: placed at (0, 0)
    heatmaps[0, 2] = gaussian(24, 32, 12.0, 30.4, 1.0)
    keypoints, scores = codec.decode(heatmaps)
    np.testing.assert_array_equal(keypoints[0, 0], [4.0, 60.0])
    np.testing.assert_array_equal(keypoints[0, 1], [0.0, 0.0])
    assert scores[0, 1] == -1.0
    np.testing.assert_array_equal(keypoints[0, 2], [48.0, 120.0])


@pytest.mark.parametrize("codec_cls", [DarkHeatmap, UDPHeatmap])
@pytest.mark.parametrize("input_size,heatmap_size,sigma", [((96, 128), (24, 32), 1.0),
                                                          ((192, 256), (48, 64), 2.0)])
def test_encode_decode_round_trip(codec_cls, input_size, heatmap_size, sigma):
    codec = codec_cls(input_size, heatmap_size, sigma)
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(12, np.array(input_size) - 12, (17, 2))
    heatmaps, weight = codec.encode(keypoints, np.ones(17))
    assert heatmaps.shape == (17, heatmap_size[1], heatmap_size[0]) and heatmaps.dtype == np.float32
    assert weight.shape == (17, 1) and weight.dtype == np.float32 and (weight == 1).all()
    decoded, scores = codec.decode(heatmaps[None])
    stride = np.asarray(codec.stride)
    assert np.abs(decoded[0] - keypoints).max() < 0.05 * stride.max()
    assert (scores > 0.6).all()


def test_udp_stride_maps_first_and_last_pixel_to_first_and_last_cell():
    codec = UDPHeatmap((96, 128), (24, 32), 1.0)
    heatmaps, _ = codec.encode([[0.0, 0.0], [95.0, 127.0]], [1, 1])
    assert heatmaps[0, 0, 0] == 1.0 and heatmaps[1, 31, 23] == 1.0


def test_encode_target_weight_rules():
    """PaddleDetection ToHeatmapsTopDown_DARK: weight = min(v, 1), zeroed when the
    3-sigma square [int(mu - 3s), int(mu + 3s + 1)] misses the heatmap; int() truncates."""
    codec = DarkHeatmap((96, 128), (24, 32), 1.0)  # stride 4, 3 sigma = 3 cells
    keypoints = np.array([
        [40.0, 60.0],    # inside, visible 2 -> weight 1
        [40.0, 60.0],    # labelled but not visible (v=1) -> weight 1 too
        [40.0, 60.0],    # not labelled -> 0
        [-15.9, 60.0],   # mu -3.975: br = int(0.025) = 0 -> kept
        [-19.9, 60.0],   # mu -4.975: br = int(-0.975) = 0 (truncation) -> kept
        [-20.1, 60.0],   # mu -5.025: br = int(-1.025) = -1 -> dropped
        [40.0, 139.9],   # mu_y 34.975: ul = int(31.975) = 31 < 32 -> kept
        [40.0, 140.0],   # mu_y 35: ul = 32 >= 32 -> dropped
    ])
    visible = np.array([2, 1, 0, 2, 2, 2, 2, 2])
    heatmaps, weight = codec.encode(keypoints, visible)
    np.testing.assert_array_equal(weight[:, 0], [1, 1, 0, 1, 1, 0, 1, 0])
    assert heatmaps[2].max() == 0 and heatmaps[5].max() == 0 and heatmaps[7].max() == 0
    # The Gaussian covers the whole grid (not only 3 sigma) and peaks at the sub-pixel centre.
    np.testing.assert_allclose(heatmaps[0], gaussian(24, 32, 10.0, 15.0, 1.0), rtol=1e-6, atol=1e-30)
    assert heatmaps[0, 15, 10] == 1.0 and heatmaps[0, 15, 16] > 0
    np.testing.assert_allclose(heatmaps[3, 15, 0], np.exp(-3.975 ** 2 / 2), rtol=1e-6)


def paddledet_dark_decode(heatmaps):
    """Oracle: PaddleDetection HRNetPostProcess.get_final_preds (use_dark, kernel 3)
    written out loop by loop, in heatmap cells."""
    heatmaps = heatmaps.copy()
    n, k, h, w = heatmaps.shape
    coords, maxvals = get_heatmap_maximum(heatmaps)
    for i in range(n):
        for j in range(k):
            origin_max = heatmaps[i, j].max()
            padded = np.zeros((h + 2, w + 2))
            padded[1:-1, 1:-1] = heatmaps[i, j]
            blurred = cv2.GaussianBlur(padded, (3, 3), 0)[1:-1, 1:-1]
            heatmaps[i, j] = blurred * (origin_max / blurred.max())
    log_hm = np.log(np.maximum(heatmaps, 1e-10))
    for i in range(n):
        for j in range(k):
            hm = log_hm[i, j]
            px, py = int(coords[i, j, 0]), int(coords[i, j, 1])
            if 1 < px < w - 2 and 1 < py < h - 2:
                d = np.array([0.5 * (hm[py, px + 1] - hm[py, px - 1]), 0.5 * (hm[py + 1, px] - hm[py - 1, px])])
                dxx = 0.25 * (hm[py, px + 2] - 2 * hm[py, px] + hm[py, px - 2])
                dxy = 0.25 * (hm[py + 1, px + 1] - hm[py - 1, px + 1] - hm[py + 1, px - 1] + hm[py - 1, px - 1])
                dyy = 0.25 * (hm[py + 2, px] - 2 * hm[py, px] + hm[py - 2, px])
                hessian = np.array([[dxx, dxy], [dxy, dyy]])
                if dxx * dyy - dxy ** 2 != 0:
                    coords[i, j] += -np.linalg.inv(hessian) @ d
    return coords, maxvals


def test_decode_matches_paddledetection_dark_loop():
    rng = np.random.default_rng(3)
    # Network-like maps: a blurred peak plus noise, some of them negative.
    heatmaps = rng.normal(0, 0.05, (3, 17, 32, 24)).astype(np.float32)
    for i in range(3):
        for j in range(17):
            heatmaps[i, j] += gaussian(24, 32, *rng.uniform(0, [24, 32]), 1.5) * rng.uniform(-0.2, 1.0)
    expected, maxvals = paddledet_dark_decode(heatmaps)
    keypoints, scores = DarkHeatmap((96, 128), (24, 32), 1.0).decode(heatmaps)
    np.testing.assert_allclose(keypoints / 4.0, expected, atol=1e-4)
    np.testing.assert_array_equal(scores, maxvals)


def test_decode_only_codec_decodes_like_a_full_one_and_refuses_to_encode():
    heatmaps = np.random.default_rng(3).random((2, 17, 32, 24)).astype(np.float32)
    decoder = DarkHeatmap.for_decoding((96, 128), (24, 32))
    for got, expected in zip(decoder.decode(heatmaps), DarkHeatmap((96, 128), (24, 32), 2.0).decode(heatmaps)):
        np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="decoding only"):
        decoder.encode(np.zeros((17, 2)), np.ones(17))


def test_codec_is_built_from_a_config_entry():
    codec = CODECS.build({"type": "UDPHeatmap", "sigma": 2}, defaults={"input_size": (96, 128),
                                                                       "heatmap_size": (24, 32)})
    assert isinstance(codec, UDPHeatmap) and codec.sigma == 2.0 and codec.heatmap_size == (24, 32)
    with pytest.raises(ValueError, match="codec.*sigma must be > 0"):
        CODECS.build({"type": "DarkHeatmap", "sigma": 0, "input_size": [96, 128], "heatmap_size": [24, 32]},
                     where="codec")

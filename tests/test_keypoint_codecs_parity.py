"""Decoding parity with PaddleDetection's full eval path (flip test, DARK, transform_preds).

PaddleDetection's ``eval_keypoints`` in tests/data/reference were computed from
its TinyPose with synthetic weights, center (W/2, H/2) and scale (W, H)/200,
so its back-projection is the identity on input pixels.
"""
import numpy as np
import paddle
import pytest

from reference import load_npz, make_input, reference_weights
from tasks.common.weights import load_state
from tasks.keypoint.codecs import DarkHeatmap
from tasks.keypoint.geometry import flip_test, to_image_coords
from tasks.keypoint.model import TinyPose


@pytest.mark.parametrize("key,input_size", [("tinypose_128x96", (96, 128)), ("tinypose_256x192", (192, 256))])
def test_flip_test_dark_decode_matches_paddledetection_eval_keypoints(key, input_size):
    model = TinyPose(num_joints=17, width=40)
    model.eval()
    assert load_state(model, reference_weights(key)).ok
    x = make_input(key)
    npz = load_npz(f"parity_{key}")

    def forward(images):
        with paddle.no_grad():
            return model(paddle.to_tensor(np.ascontiguousarray(images))).numpy()

    heatmaps = flip_test(forward, x, shift_heatmap=True)  # PaddleDetection's TopDownHRNet default
    w, h = input_size
    codec = DarkHeatmap.for_decoding(input_size, (w // 4, h // 4))
    crop_xy, scores = codec.decode(heatmaps)
    image_xy = to_image_coords(crop_xy, [[w / 2, h / 2]], [[w / 200, h / 200]], input_size, use_udp=False)
    expected = npz["eval_keypoints"]
    np.testing.assert_allclose(image_xy, expected[..., :2], atol=1e-3)
    np.testing.assert_allclose(scores, expected[..., 2], atol=1e-4)
    np.testing.assert_allclose(scores.mean(axis=1), npz["eval_score"][:, 0], atol=1e-4)

"""ImageBlob: BGR uint8 images -> normalized RGB NCHW float32, as infer_cfg.yml's steps say."""
import numpy as np
import pytest

from tasks.runtime.image_blob import ImageBlob

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (12, 10, 3), dtype=np.uint8) for _ in range(3)]


def rgb_chw(images):
    return np.stack([image[..., ::-1].transpose(2, 0, 1) for image in images]).astype(np.float64)


@pytest.mark.parametrize("is_scale", [True, False])
def test_normalizes_rgb_channels_with_their_own_mean_and_std(images, is_scale):
    blob = ImageBlob({"mean": MEAN, "std": STD, "is_scale": is_scale})(images)
    unit = rgb_chw(images) / (255.0 if is_scale else 1.0)
    expected = (unit - np.reshape(MEAN, (1, 3, 1, 1))) / np.reshape(STD, (1, 3, 1, 1))
    assert blob.shape == (3, 3, 12, 10) and blob.dtype == np.float32 and blob.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(blob, expected, rtol=1e-6, atol=1e-5)


def test_without_normalize_gives_rgb_0_to_255(images):
    np.testing.assert_array_equal(ImageBlob(None)(images), rgb_chw(images))

"""The fixed check inputs: a fuse_normalize export gets the crops back in RGB 0..255."""
import numpy as np

from keypoint_tiny_data import make_tiny_coco
from tasks.export.check_inputs import person_crops
from tasks.keypoint.config import load_config


def test_fuse_normalize_crops_undo_the_configs_mean_and_std(tmp_path):
    ann, image_root = make_tiny_coco(tmp_path, num_images=2, split="val")
    config = load_config("configs/tinypose_128x96.yml")
    config["data"]["mean"], config["data"]["std"] = [0.5, 0.4, 0.3], [0.2, 0.3, 0.4]
    normalized = person_crops(config, ann, image_root, count=2)
    raw = person_crops(config, ann, image_root, count=2, fuse_normalize=True)
    assert normalized.shape == raw.shape == (2, 3, 128, 96)
    # the crop is uint8 RGB before normalization: 0..255 integers again
    np.testing.assert_allclose(raw, np.round(raw), atol=1e-3)
    assert raw.min() >= -1e-3 and raw.max() <= 255 + 1e-3 and raw.max() > 100

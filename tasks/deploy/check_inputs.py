"""Fixed inputs on which every exported or converted model is checked: real persons.

A converted file is compared with Paddle inference on these, and the FP16 cost is
measured on them. Persons from the validation set (not random noise) make the
decoded-keypoint comparison meaningful: on noise, argmax ties move points by
whole heatmap cells.
"""
import numpy as np


def person_crops(config, val_ann, image_root, count=4, fuse_normalize=False):
    """The first `count` persons of `val_ann`, cropped as at evaluation: one [N,3,H,W]
    float32 batch, normalized (or RGB 0..255 for a fuse_normalize export)."""
    from tasks.keypoint.builders import build_dataset
    dataset = build_dataset(config, val_ann, image_root, train=False)
    if len(dataset) == 0:
        raise ValueError(f"{val_ann}: no person to check exported models on")
    crops = np.stack([dataset[i]["image"] for i in range(min(count, len(dataset)))]).astype(np.float32)
    if fuse_normalize:  # undo the dataset's NormalizeImage (the config's mean/std)
        mean = np.asarray(config["data"]["mean"], np.float32).reshape(1, 3, 1, 1)
        std = np.asarray(config["data"]["std"], np.float32).reshape(1, 3, 1, 1)
        crops = (crops * std + mean) * 255.0
    return crops

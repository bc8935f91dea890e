"""Fixed inputs on which every exported or converted model is checked: real val images.

A converted file is compared with Paddle inference on these, and the FP16 cost is
measured on them. Persons from the validation set (not random noise) make the
comparisons meaningful: on noise, heatmap argmax ties move keypoints by whole cells,
and a detector finds nothing to keep.

Person crops for a keypoint model, whole images for a detector: each kind picks its own
(``ModelKind.val_inputs``). Without a val set (released weights), ``tasks.export.rendered_persons``
gives the same kinds of inputs.
"""
import numpy as np


def _undo_normalize(images, config):
    """Normalized [N, 3, H, W] -> RGB 0..255 (the input of a fuse_normalize export)."""
    mean = np.asarray(config["data"]["mean"], np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(config["data"]["std"], np.float32).reshape(1, 3, 1, 1)
    return ((images * std + mean) * 255.0).astype(np.float32)


def person_crops(config, val_ann, image_root, count=4, fuse_normalize=False):
    """The first `count` persons of `val_ann`, cropped as at evaluation: one [N,3,H,W]
    float32 batch, normalized (or RGB 0..255 for a fuse_normalize export)."""
    from tasks.keypoint.builders import build_dataset
    dataset = build_dataset(config, val_ann, image_root, train=False)
    if len(dataset) == 0:
        raise ValueError(f"{val_ann}: no person to check exported models on")
    crops = np.stack([dataset[i]["image"] for i in range(min(count, len(dataset)))]).astype(np.float32)
    return _undo_normalize(crops, config) if fuse_normalize else crops


def detector_images(config, val_ann, image_root, count=2, fuse_normalize=False):
    """The first `count` images of `val_ann` with persons, through the eval transforms (resized to
    ``model.input_size``, ratio not kept): (images [N, 3, H, W] float32, normalized or RGB 0..255
    for a fuse_normalize export; scale_factor [N, 2] (y, x), input / original size)."""
    from tasks.detection.dataset import DetectionDataset, build_detection_transforms

    transforms, _ = build_detection_transforms(config, train=False)
    dataset = DetectionDataset(val_ann, image_root, transforms)
    with_persons = [i for i, record in enumerate(dataset.records) if len(record["gt_bbox"])][:count]
    if not with_persons:
        raise ValueError(f"{val_ann}: no image with a person to check exported detectors on")
    samples = [dataset[i] for i in with_persons]
    images = np.stack([s["image"] for s in samples]).astype(np.float32)
    scale_factor = np.stack([s["scale_factor"] for s in samples]).astype(np.float32).reshape(-1, 2)
    return (_undo_normalize(images, config) if fuse_normalize else images), scale_factor


def first_image_with_persons(val_ann, image_root):
    """Path of the first image (file order) of a COCO file with a non-crowd person box: the
    picture a deploy bundle is shipped with. ValueError naming the file when there is none,
    UnsafeImagePath when its file_name could lead outside ``image_root``."""
    import json
    from pathlib import Path

    from tasks.common.paths import confined_image_path

    coco = json.loads(Path(val_ann).read_text())
    with_persons = {a["image_id"] for a in coco.get("annotations", []) if not a.get("iscrowd", 0)}
    for image in coco.get("images", []):
        if image["id"] in with_persons:
            return Path(confined_image_path(image_root, image["file_name"], ann_file=val_ann,
                                            image_id=image["id"]))
    raise ValueError(f"{val_ann}: no image with a person")

"""Deterministic rendered person images: what an export is checked on when no val set is at hand.

A user with only released ``.pdparams`` files has no COCO val2017, and noise is no check
input (``tasks.export.check_inputs``: heatmap argmax ties move keypoints by whole cells, and a
detector's scores on noise are ill-conditioned: with the synthetic PicoDet 320 weights the
export's boxes differed from the dygraph model's by 0.46 px on N(0, 1) noise). These are the
sample dataset's stick figures (``tasks.sample.scenes``): whole persons on a plain background,
the scenes the demo's detector is trained on (the tests' sample detector finds most of them at
low scores, as it does the sample's own val persons: docs/deployment.md), drawn from fixed seeds, so every run
and every machine checks on the same pixels.

    rendered_scenes()                  -> [(image BGR, person boxes [P, 4] x, y, w, h)]
    person_crops(input_size, normalize), detector_images(input_size, normalize) -> the export's inputs
    write_demo_image(path)             -> the first scene as a JPEG (a bundle's demo.jpg)

The inputs are made as ``tinypose-infer`` makes them (``tasks.runtime.keypoint_predictor`` and
``tasks.runtime.detector_predictor``): person crops by the top-down affine of each box, whole
images resized without keeping the ratio (bicubic), then ``ImageBlob``.
"""
from functools import lru_cache

import cv2
import numpy as np

SEED = 24
SCENES = ((320, 256, 1), (384, 288, 2), (288, 320, 1), (448, 320, 3))  # width, height, persons
CROPS, IMAGES = 4, 2   # inputs per check: person crops of a keypoint model, images of a detector


@lru_cache(maxsize=1)
def rendered_scenes():
    """[(image [H, W, 3] uint8 BGR, boxes [P, 4] float32 x, y, w, h of its labeled persons)]."""
    from tasks.sample.scenes import compose_scene

    scenes = []
    for i, (width, height, persons) in enumerate(SCENES):
        image, people = compose_scene(np.random.default_rng(SEED + i), width, height, persons)
        boxes = np.array([p.bbox for p in people if p.kind == "person"], np.float32).reshape(-1, 4)
        image.setflags(write=False)
        scenes.append((image, boxes))
    return tuple(scenes)


def person_crops(input_size, normalize):
    """The first ``CROPS`` persons, cropped as ``KeypointPredictor.preprocess`` crops: [N, 3, h, w]."""
    from tasks.keypoint.geometry import boxes_to_centers_scales
    from tasks.keypoint.transforms import TopDownAffine
    from tasks.runtime.image_blob import ImageBlob

    crop = TopDownAffine(tuple(input_size))
    crops = []
    for image, boxes in rendered_scenes():
        centers, scales = boxes_to_centers_scales(boxes, tuple(input_size))
        crops += [crop({"image": image, "center": c, "scale": s})["image"] for c, s in zip(centers, scales)]
    return ImageBlob(normalize)(crops[:CROPS])


def detector_images(input_size, normalize):
    """The first ``IMAGES`` scenes resized as ``DetectorPredictor.preprocess`` does: (images
    [N, 3, h, w], scale_factor [N, 2] (y, x), input / original size)."""
    from tasks.runtime.image_blob import ImageBlob

    w, h = (int(v) for v in input_size)
    scenes = rendered_scenes()[:IMAGES]
    images = ImageBlob(normalize)([cv2.resize(image, (w, h), interpolation=cv2.INTER_CUBIC) for image, _ in scenes])
    scale_factor = np.array([[h / image.shape[0], w / image.shape[1]] for image, _ in scenes], np.float32)
    return images, scale_factor


def write_demo_image(path):
    """The first scene as a JPEG at ``path`` (a picture with a person); returns the path."""
    if not cv2.imwrite(str(path), rendered_scenes()[0][0]):
        raise OSError(f"cannot write {path}")
    return path

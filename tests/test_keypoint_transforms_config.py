"""TinyPose transforms and codec built from config `type:` entries (tasks.common.registry).

The pipelines built from the shipped configs give the samples the pre-registry builders gave.
The digests below were computed with the hand-written builders that the config-driven
ones replaced (same configs, same files, same seed): a change of any transform, default
or draw order shows up here.
"""
import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from tasks.common.registry import Registry
from tasks.keypoint.builders import build_codec, build_dataset, build_transforms
from tasks.keypoint.codecs import DarkHeatmap
from tasks.keypoint.config import ConfigError, load_config
from tasks.keypoint.transforms import RandomFlipHalfBody

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _keypoints(rng, box):
    x, y, w, h = box
    xy = rng.uniform([x, y], [x + w, y + h], size=(17, 2)).round(1)
    vis = rng.choice([0, 1, 2], size=17, p=[0.2, 0.2, 0.6])
    return np.concatenate([xy * (vis[:, None] > 0), vis[:, None]], axis=1).ravel().tolist(), int((vis > 0).sum())


@pytest.fixture(scope="module")
def png_coco(tmp_path_factory):
    """Three PNG images (lossless, so decoding is exact everywhere) with five persons."""
    root = tmp_path_factory.mktemp("png_coco")
    rng = np.random.default_rng(11)
    boxes = {1: [(30, 20, 80, 150), (120, 40, 60, 120)], 2: [(10, 10, 150, 200)],
             3: [(50, 60, 40, 90), (100, 30, 90, 180)]}
    images, anns = [], []
    for image_id, image_boxes in boxes.items():
        name = f"img{image_id}.png"
        cv2.imwrite(str(root / name), rng.integers(0, 256, (240, 200, 3), dtype=np.uint8))
        images.append(dict(id=image_id, file_name=name, width=200, height=240))
        for box in image_boxes:
            kpts, num = _keypoints(rng, box)
            anns.append(dict(id=100 + len(anns), image_id=image_id, category_id=1, bbox=list(box),
                             area=box[2] * box[3], iscrowd=0, num_keypoints=num, keypoints=kpts))
    (root / "ann.json").write_text(json.dumps(dict(images=images, annotations=anns,
                                                   categories=[dict(id=1, name="person")])))
    return root


def _digest(sample):
    sha = hashlib.sha256()
    for key in sorted(sample):
        value = np.ascontiguousarray(sample[key])
        sha.update(key.encode() + str(value.dtype).encode() + str(value.shape).encode() + value.tobytes())
    return sha.hexdigest()[:16]


def _digests(config_name, root, train):
    config = load_config(CONFIGS / f"{config_name}.yml")
    dataset = build_dataset(config, root / "ann.json", root, train=train)
    out = []
    for epoch in (0, 1) if train else (0,):
        dataset.set_epoch(epoch)
        out += [_digest(dataset[i]) for i in range(len(dataset))]
    return out


GOLDEN = {
    ("tinypose_128x96", True): ['986eec83411fbee9', '9c9ce7d75d410bab', 'e3581f09b6a51463', '866149bf35fb01a6',
                                '6a950f6ff8ef5ede', '45d73ba341bc69ea', 'c9550b83ce9bc165', 'c211cc6cf52d0ac6',
                                '67961d189f745eb4', '96646622effb71dc'],
    ("tinypose_128x96", False): ['cf6cf55e9d6296bc', '0bf7ebc58ce0c4aa', 'f291160aaaa0e795', '2891b037752aec25',
                                 '9000ce79c57f7e08'],
    ("tinypose_256x192", True): ['2a1531f2ccad858e', 'b30df3beb7a7522a', 'a348507e7591a1a0', '94dd2e63cc289e7f',
                                 '21079f07b948ebd5', '4e6200066394e4f4', '9d076dff84574ac1', '2f08acf20a5d629b',
                                 'f96d3f6f186ca159', '74f732e12e6fec2f'],
    ("tinypose_256x192", False): ['2af04fcfa83cf9a7', '3318ee16cbbe8ba6', '7996d4ba61c8e140', 'd3e4c1df71d3ff7f',
                                  '8f314060d981a317'],
}


@pytest.mark.parametrize("config_name", ["tinypose_128x96", "tinypose_256x192"])
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_config_pipelines_give_the_samples_of_the_former_builders(png_coco, config_name, train):
    assert _digests(config_name, png_coco, train) == GOLDEN[config_name, train]


def _child_config(tmp_path, train_pipeline):
    base = tmp_path / "base.yml"
    base.write_text((CONFIGS / "tinypose_128x96.yml").read_text())
    child = tmp_path / "child.yml"
    child.write_text(yaml.safe_dump({"_base_": "base.yml", "data": {"train_pipeline": train_pipeline}}))
    return child


def test_a_number_changed_in_yaml_reaches_the_transform(tmp_path):
    pipeline = load_config(CONFIGS / "tinypose_128x96.yml")["data"]["train_pipeline"]
    pipeline[1]["flip_prob"] = 0.0
    config = load_config(_child_config(tmp_path, pipeline))
    flip, aid, affine, target = build_transforms(config, train=True).transforms[1:5]
    assert isinstance(flip, RandomFlipHalfBody) and flip.flip_prob == 0.0 and flip.rot_factor == 30
    assert flip.flip_pairs == tuple(map(tuple, config["model"]["flip_pairs"]))  # default from model
    assert aid.input_width == 96 and affine.input_size == (96, 128)
    assert isinstance(target.codec, DarkHeatmap) and target.codec.sigma == 1.0
    assert build_codec(load_config(CONFIGS / "tinypose_256x192.yml")).sigma == 2.0


def test_pipeline_entries_are_checked_when_the_config_loads(tmp_path):
    pipeline = load_config(CONFIGS / "tinypose_128x96.yml")["data"]["train_pipeline"]
    pipeline[2]["radius"] = 3
    pipeline[1]["upper_body_ids"] = [0, 17]
    pipeline.append({"type": "RandomRotate"})
    with pytest.raises(ConfigError) as err:
        load_config(_child_config(tmp_path, pipeline))
    message = str(err.value)
    assert "child.yml" in message
    assert "data/train_pipeline/2: InformationDropping has no argument radius" in message
    assert "data/train_pipeline/1/upper_body_ids: joint 17 >= num_joints (17)" in message
    assert "data/train_pipeline/8: unknown keypoint transform type 'RandomRotate'" in message
    pipeline = pipeline[:8]
    pipeline[1] = {"type": "RandomFlipHalfBody", "flip_prob": 1.5}
    with pytest.raises(ConfigError, match=r"data/train_pipeline/1/flip_prob: 1.5 is greater than the maximum"):
        load_config(_child_config(tmp_path, pipeline))


def test_registry_fills_defaults_only_where_the_class_takes_them():
    registry = Registry("test op")

    @registry.register
    class Scale:
        def __init__(self, factor, input_size=(1, 1)):
            self.factor, self.input_size = factor, input_size

    built = registry.build_all([{"type": "Scale", "factor": 2}, {"type": "Scale", "factor": 3, "input_size": [5, 6]}],
                               defaults={"input_size": [9, 9], "mean": [0, 0, 0]})
    assert [(b.factor, b.input_size) for b in built] == [(2, [9, 9]), (3, [5, 6])]
    with pytest.raises(KeyError, match="already registered"):
        registry.register(type("Scale", (), {}))
    with pytest.raises(ValueError, match=r"pipe/0: Scale: .*missing 1 required positional argument: 'factor'"):
        registry.build_all([{"type": "Scale"}], where="pipe")
    with pytest.raises(ValueError, match=r"pipe/1: a test op entry must be a mapping with a 'type' key"):
        registry.build_all([{"type": "Scale", "factor": 1}, {"factor": 1}], where="pipe")

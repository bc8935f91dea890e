"""TopDownCocoDataset: person filter, center/scale, samples, determinism, multi-process loading."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tasks.common.loader import build_loader
from tasks.keypoint.builders import build_transforms
from tasks.keypoint.config import deep_merge, load_config
from tasks.keypoint.dataset import TopDownCocoDataset

CONFIG = load_config(Path(__file__).resolve().parents[1] / "configs" / "tinypose_128x96.yml")


def build_eval_transforms():
    return build_transforms(CONFIG, train=False)


def build_train_transforms():
    return build_transforms(CONFIG, train=True)


def keypoints(n_labelled):
    kpts = []
    for i in range(17):
        kpts += [40 + 2 * i, 30 + 5 * i, 2] if i < n_labelled else [0, 0, 0]
    return kpts


@pytest.fixture()
def coco_dir(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "img").mkdir()
    for name in ("a.jpg", "b.jpg"):
        cv2.imwrite(str(tmp_path / "img" / name), rng.integers(0, 256, (160, 120, 3), dtype=np.uint8))
    anns = [
        dict(id=11, image_id=1, bbox=[30, 20, 50, 100], area=5000, iscrowd=0, num_keypoints=17, keypoints=keypoints(17)),
        dict(id=12, image_id=1, bbox=[10, 10, 60, 60], area=3600, iscrowd=1, num_keypoints=3, keypoints=keypoints(3)),
        dict(id=13, image_id=1, bbox=[10, 10, 30, 30], area=900, iscrowd=0, num_keypoints=0, keypoints=keypoints(0)),
        dict(id=14, image_id=2, bbox=[500, 10, 30, 30], area=900, iscrowd=0, num_keypoints=2, keypoints=keypoints(2)),
        dict(id=15, image_id=2, bbox=[-10, 40, 100, 60], area=6000, iscrowd=0, num_keypoints=5, keypoints=keypoints(5)),
        dict(id=16, image_id=2, bbox=[20, 20, 40, 90], area=3600, iscrowd=0, num_keypoints=9, keypoints=keypoints(9)),
    ]
    coco = dict(images=[dict(id=1, file_name="img/a.jpg", width=120, height=160),
                        dict(id=2, file_name="img/b.jpg", width=120, height=160)],
                annotations=anns, categories=[dict(id=1, name="person")])
    (tmp_path / "ann.json").write_text(json.dumps(coco))
    return tmp_path


def test_filters_crowd_zero_keypoint_and_outside_persons(coco_dir):
    ds = TopDownCocoDataset(coco_dir / "ann.json", coco_dir, (96, 128), build_eval_transforms())
    assert [r["ann_id"] for r in ds.records] == [11, 15, 16]
    assert ds.stats == dict(persons=6, kept=3, crowd=1, no_keypoints=1, invalid_box=1)
    # Box 15 (-10, 40, 100, 60) -> x1 = 0, x2 = min(119, x1 + 100 - 1) = 99: (0, 40, 99, 59),
    # wide, so h = 99 / 0.75 = 132.
    rec = ds.records[1]
    np.testing.assert_allclose(rec["center"], [49.5, 69.5])
    np.testing.assert_allclose(rec["scale"], [99 / 200 * 1.25, 132 / 200 * 1.25], rtol=1e-6)
    np.testing.assert_array_equal(rec["keypoints_visible"], [1] * 5 + [0] * 12)


def test_eval_sample_keeps_what_back_projection_needs(coco_dir):
    ds = TopDownCocoDataset(coco_dir / "ann.json", coco_dir, (96, 128), build_eval_transforms())
    sample = ds[0]
    assert sample["image"].shape == (3, 128, 96) and sample["image"].dtype == np.float32
    assert sample["image_id"] == 1 and sample["ann_id"] == 11 and sample["score"] == 1.0
    np.testing.assert_allclose(sample["center"], [54.5, 69.5])


def test_train_samples_are_seeded_by_epoch_and_index(coco_dir):
    def dataset():
        return TopDownCocoDataset(coco_dir / "ann.json", coco_dir, (96, 128),
                                  build_train_transforms(), seed=5)
    a, b = dataset(), dataset()
    first = a[2]
    assert first["target"].shape == (17, 32, 24) and first["target_weight"].shape == (17, 1)
    np.testing.assert_array_equal(first["image"], b[2]["image"])
    np.testing.assert_array_equal(first["target"], b[2]["target"])
    b.set_epoch(1)
    assert not np.array_equal(b[2]["image"], first["image"])


def test_missing_image_names_file_and_record(coco_dir):
    (coco_dir / "img" / "b.jpg").unlink()
    ds = TopDownCocoDataset(coco_dir / "ann.json", coco_dir, (96, 128), build_eval_transforms())
    with pytest.raises(FileNotFoundError, match=r"b\.jpg \(annotation id 15\)"):
        ds[1]


@pytest.mark.timeout(120)
def test_dataloader_with_two_workers(coco_dir):
    # cv2 used multi-threaded in this process before the workers fork: without
    # release_cv2_threads the workers' first cv2 call would hang.
    cv2.setNumThreads(-1)
    cv2.warpAffine(np.zeros((480, 640, 3), np.uint8), np.eye(2, 3), (640, 480))
    ds = TopDownCocoDataset(coco_dir / "ann.json", coco_dir, (96, 128),
                            build_train_transforms(), seed=0)
    config = deep_merge(CONFIG, {"data": {"num_workers": 2}, "train": {"batch_size": 2}})
    loader, _ = build_loader(ds, config, train=True)
    batches = list(loader)
    assert [b["image"].shape[0] for b in batches] == [2, 1]
    batch = batches[0]
    assert list(batch["image"].shape) == [2, 3, 128, 96]
    assert list(batch["target"].shape) == [2, 17, 32, 24]
    assert list(batch["target_weight"].shape) == [2, 17, 1]
    assert str(batch["image"].dtype).endswith("float32")

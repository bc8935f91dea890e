"""PicoDet dataset: packed records, crowd boxes apart, empty images, collation, seeded draws, loader."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tasks.common.config import deep_merge
from tasks.common.packed_records import PackedRecords
from tasks.detection.config import load_config
from tasks.detection.dataset import BATCH_STREAM, DetectionCollate, build_detection_loader, load_detection_records

CONFIG = load_config(Path(__file__).resolve().parents[1] / "configs" / "picodet_s_192_pedestrian.yml")


@pytest.fixture(scope="module")
def coco_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("det_coco")
    rng = np.random.default_rng(5)
    images = []
    for image_id, (w, h) in zip((4, 2, 9, 7), ((160, 120), (100, 140), (120, 90), (80, 80))):
        cv2.imwrite(str(root / f"{image_id}.png"), rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        images.append(dict(id=image_id, file_name=f"{image_id}.png", width=w, height=h))
    anns = [dict(id=1, image_id=2, category_id=1, bbox=[10, 20, 30.12345, 40], area=1200, iscrowd=0),
            dict(id=2, image_id=4, category_id=1, bbox=[5, 5, 50, 60], area=3000, iscrowd=0),
            dict(id=3, image_id=4, category_id=1, bbox=[60, 10, 40, 40], area=1600, iscrowd=1),
            dict(id=4, image_id=2, category_id=1, bbox=[50, 50, 20, 30], area=600, iscrowd=0),
            dict(id=5, image_id=4, category_id=1, bbox=[0, 0, 0, 10], area=0, iscrowd=0),
            dict(id=6, image_id=7, category_id=3, bbox=[1, 1, 10, 10], area=100, iscrowd=0),
            dict(id=7, image_id=7, category_id=1, bbox=[10, 10, 50, 50], area=2500, iscrowd=0)]
    (root / "ann.json").write_text(json.dumps(dict(images=images, annotations=anns,
                                                   categories=[dict(id=1, name="person")])))
    return root


def test_records_keep_crowd_boxes_apart_and_images_without_persons(coco_dir):
    records, stats = load_detection_records(coco_dir / "ann.json", coco_dir)
    assert isinstance(records, PackedRecords) and len(records) == 4
    assert stats == dict(images=4, images_without_persons=1, annotations=7, persons=4, crowd=1, invalid_box=1,
                         other_category=1)
    first, second, third = records[0], records[1], records[2]
    assert first["image_id"] == 4 and first["image_file"] == str(coco_dir / "4.png")
    np.testing.assert_array_equal(first["gt_bbox"], np.float32([[5, 5, 55, 65]]))
    np.testing.assert_array_equal(first["ignore_bbox"], np.float32([[60, 10, 100, 50]]))
    # x1y1x2y2 rounded to 3 decimals as PaddleDetection's COCODataSet, in file order
    np.testing.assert_array_equal(second["gt_bbox"], np.float32([[10, 20, 40.123, 60], [50, 50, 70, 80]]))
    assert third["gt_bbox"].shape == (0, 4) and third["ignore_bbox"].shape == (0, 4)


def test_unknown_image_and_bad_box_are_named(tmp_path):
    doc = dict(images=[dict(id=1, file_name="a.png", width=9, height=9)],
               annotations=[dict(id=11, image_id=1, category_id=1, bbox=[1, 2, 3], area=1, iscrowd=0)])
    (tmp_path / "a.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"a.json: annotation 11 bbox has 3 values, expected 4"):
        load_detection_records(tmp_path / "a.json", tmp_path)
    doc["annotations"][0].update(image_id=5, bbox=[1, 2, 3, 4])
    (tmp_path / "a.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"annotation 11 is on image id 5"):
        load_detection_records(tmp_path / "a.json", tmp_path)


def _batch(loader_parts, indices):
    loader, sampler, dataset = loader_parts
    return loader.collate_fn([dataset[i] for i in indices])


def test_train_batch_keys_shapes_and_dtypes(coco_dir):
    parts = build_detection_loader(deep_merge(CONFIG, {"data": {"num_workers": 0}}), coco_dir / "ann.json",
                                   coco_dir, train=True)
    loader, _, dataset = parts
    samples = [dataset[i] for i in (0, 1, 2)]
    counts = [len(s["gt_bbox"]) for s in samples]  # the random crop may drop boxes
    batch = loader.collate_fn(samples)
    size, boxes = batch["image"].shape[2], max(counts)
    assert batch["image"].shape == (3, 3, size, size) and size in (128, 160, 192, 224, 256)
    assert counts[2] == 0 and 1 <= counts[0] and 1 <= counts[1] <= 2  # image 9 has no person
    assert batch["gt_bbox"].shape == (3, boxes, 4) and batch["gt_class"].dtype == np.int32
    assert batch["gt_class"].shape == batch["pad_gt_mask"].shape == (3, boxes, 1)
    assert batch["pad_gt_mask"][:, :, 0].sum(axis=1).tolist() == counts
    crowd = batch["ignore_bbox"].shape[1]
    assert batch["ignore_bbox"].shape == (3, crowd, 4) and batch["pad_ignore_mask"].shape == (3, crowd, 1)
    assert batch["im_id"].tolist() == [[4], [2], [9]] and batch["im_id"].dtype == np.int64
    np.testing.assert_array_equal(batch["im_shape"], [[size, size]] * 3)
    assert batch["image"].dtype == np.float32 and abs(float(batch["image"].mean())) < 3


def test_eval_batch_is_resized_to_the_input_size(coco_dir):
    parts = build_detection_loader(CONFIG, coco_dir / "ann.json", coco_dir, train=False)
    batch = _batch(parts, [0, 1])
    assert set(batch) == {"image", "im_shape", "scale_factor", "im_id"}
    assert batch["image"].shape == (2, 3, 192, 192)
    np.testing.assert_allclose(batch["scale_factor"], [[192 / 120, 192 / 160], [192 / 140, 192 / 100]], rtol=1e-6)


def test_draws_depend_on_seed_epoch_and_indices_only(coco_dir):
    def batch(epoch, indices):
        parts = build_detection_loader(CONFIG, coco_dir / "ann.json", coco_dir, train=True)
        parts[2].set_epoch(epoch)
        return _batch(parts, indices)

    first = batch(3, [1, 0])
    again = batch(3, [1, 0])
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    assert any(not np.array_equal(first[k], batch(4, [1, 0])[k]) for k in ("image", "gt_bbox"))
    assert BATCH_STREAM > 2 ** 31  # never an index: batch and sample streams stay apart


@pytest.mark.timeout(180)
def test_loader_with_two_workers_gives_the_in_process_batches(coco_dir):
    config = deep_merge(CONFIG, {"data": {"num_workers": 2}, "train": {"batch_size": 2, "shuffle": True}})
    loader, sampler, dataset = build_detection_loader(config, coco_dir / "ann.json", coco_dir, train=True)
    dataset.set_epoch(1)
    sampler.set_epoch(1)
    batches = list(loader)
    assert len(batches) == len(sampler) == 2  # drop_last
    sampler.set_epoch(1)  # paddle's sampler moves to the next epoch after each pass
    order = list(sampler)
    collate = DetectionCollate(loader.collate_fn.batch_transforms, dataset)
    for got, indices in zip(batches, order):
        expected = collate([dataset[i] for i in indices])
        assert set(got) == set(expected)
        for key, value in expected.items():
            np.testing.assert_array_equal(got[key].numpy(), value)

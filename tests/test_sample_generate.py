"""The embedded sample dataset: reproducible, official layouts, labels that match the pixels."""
import hashlib
import json
import re
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from tasks.sample.archive import ZIP_DATE
from tasks.sample.figures import JOINT_COLOURS_BGR
from tasks.sample.formats import AIC_JOINTS
from tasks.sample.generate import SampleSizes, generate_sample

AIC_TRAIN = "ai_challenger_keypoint_train_20170902"
AIC_VAL = "ai_challenger_keypoint_validation_20170911"
LAYOUTS = {  # archive -> patterns every member must match
    "train2017.zip": [r"train2017/", r"train2017/\d{12}\.jpg"],
    "val2017.zip": [r"val2017/", r"val2017/\d{12}\.jpg"],
    "annotations_trainval2017.zip": [
        r"annotations/", r"annotations/person_keypoints_(train|val)2017\.json"],
    f"{AIC_TRAIN}.zip": [
        rf"{AIC_TRAIN}/", rf"{AIC_TRAIN}/keypoint_train_images_20170902/",
        rf"{AIC_TRAIN}/keypoint_train_images_20170902/[0-9a-f]{{40}}\.jpg",
        rf"{AIC_TRAIN}/keypoint_train_annotations_20170909\.json"],
    f"{AIC_VAL}.zip": [
        rf"{AIC_VAL}/", rf"{AIC_VAL}/keypoint_validation_images_20170911/",
        rf"{AIC_VAL}/keypoint_validation_images_20170911/[0-9a-f]{{40}}\.jpg",
        rf"{AIC_VAL}/keypoint_validation_annotations_20170911\.json"],
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    start = time.perf_counter()
    result = generate_sample(out)
    result["seconds"] = time.perf_counter() - start
    result["dir"] = out
    result["manifest_data"] = json.loads(Path(result["manifest"]).read_text())
    return result


def _read_json(archive, name):
    with zipfile.ZipFile(archive) as zf:
        return json.loads(zf.read(name))


def _images(archive):
    with zipfile.ZipFile(archive) as zf:
        return {Path(n).name: cv2.imdecode(np.frombuffer(zf.read(n), np.uint8), cv2.IMREAD_COLOR)
                for n in zf.namelist() if n.endswith(".jpg")}


def _coco(sample, split):
    return _read_json(sample["dir"] / "annotations_trainval2017.zip",
                      f"annotations/person_keypoints_{split}2017.json")


def _aic(sample, top, name):
    return _read_json(sample["dir"] / f"{top}.zip", f"{top}/{name}")


def test_two_generations_are_byte_identical(sample, tmp_path):
    again = generate_sample(tmp_path)
    assert {k: v["md5"] for k, v in again["archives"].items()} == \
           {k: v["md5"] for k, v in sample["archives"].items()}
    assert Path(again["manifest"]).read_bytes() == Path(sample["manifest"]).read_bytes()


def test_regenerating_leaves_identical_files_untouched(tmp_path):
    sizes = SampleSizes(2, 1, 2, 1)
    generate_sample(tmp_path, sizes=sizes)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    time.sleep(0.01)
    generate_sample(tmp_path, sizes=sizes)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before
    generate_sample(tmp_path, sizes=SampleSizes(3, 1, 2, 1))
    assert (tmp_path / "train2017.zip").stat().st_mtime_ns != before["train2017.zip"]


def test_generation_takes_seconds(sample):
    # a guard against an accidental slowdown, not a speed claim (about 3 s here)
    assert sample["seconds"] < 60
    total = sum(Path(a["path"]).stat().st_size for a in sample["archives"].values())
    assert total < 20e6


@pytest.mark.parametrize("archive", sorted(LAYOUTS))
def test_archive_members_follow_the_official_layout(sample, archive):
    with zipfile.ZipFile(sample["dir"] / archive) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    for name in names:
        assert any(re.fullmatch(p, name) for p in LAYOUTS[archive]), f"{archive}: {name}"
    for pattern in LAYOUTS[archive]:
        assert any(re.fullmatch(pattern, n) for n in names), f"{archive} lacks {pattern}"
    assert {i.date_time for i in infos} == {ZIP_DATE}


def test_datasets_yml_points_at_the_archives(sample):
    config = yaml.safe_load(Path(sample["datasets_yml"]).read_text())
    assert set(config) == {"coco", "aic"}
    assert set(config["coco"]) == {"train2017", "val2017", "annotations_trainval2017"}
    assert set(config["aic"]) == {"keypoint_train", "keypoint_validation"}
    for source, entries in config.items():
        for key, entry in entries.items():
            assert entry["url"].startswith("file:///")
            path = Path(entry["url"][len("file://"):])
            assert path == Path(sample["archives"][f"{source}/{key}"]["path"])
            assert entry["md5"] == hashlib.md5(path.read_bytes()).hexdigest()
    assert config["coco"]["annotations_trainval2017"]["files"] == {
        "train": "annotations/person_keypoints_train2017.json",
        "val": "annotations/person_keypoints_val2017.json"}
    assert config["aic"]["keypoint_train"]["annotations"] == \
        f"{AIC_TRAIN}/keypoint_train_annotations_20170909.json"


@pytest.mark.parametrize("split", ["train", "val"])
def test_coco_files_are_real_coco_keypoint_files(sample, split, tmp_path):
    doc = _coco(sample, split)
    (tmp_path / "ann.json").write_text(json.dumps(doc))
    coco = COCO(str(tmp_path / "ann.json"))
    assert coco.loadCats(1)[0]["keypoints"][0] == "nose"
    assert len(coco.loadCats(1)[0]["skeleton"]) == 19
    images = _images(sample["dir"] / f"{split}2017.zip")
    assert sorted(images) == sorted(i["file_name"] for i in doc["images"])
    for record in doc["images"]:
        assert images[record["file_name"]].shape[:2] == (record["height"], record["width"])
        assert record["file_name"] == f"{record['id']:012d}.jpg"

    anns = doc["annotations"]
    assert len({a["id"] for a in anns}) == len(anns)
    for a in anns:
        assert len(a["keypoints"]) == 51 and a["category_id"] == 1
        assert a["num_keypoints"] == sum(v > 0 for v in a["keypoints"][2::3])
        x, y, w, h = a["bbox"]
        img = coco.imgs[a["image_id"]]
        assert 0 <= x and 0 <= y and x + w <= img["width"] and y + h <= img["height"]
    crowds = [a for a in anns if a["iscrowd"]]
    assert crowds and all(a["num_keypoints"] == 0 for a in crowds)
    for a in crowds:
        rle = mask_utils.frPyObjects(a["segmentation"], *a["segmentation"]["size"])
        assert mask_utils.area(rle) == a["area"]
        assert list(mask_utils.toBbox(rle)) == a["bbox"]
    assert any(not a["iscrowd"] and a["num_keypoints"] == 0 for a in anns)
    visibility = {v for a in anns if a["num_keypoints"] for v in a["keypoints"][2::3]}
    assert visibility == {0, 1, 2}
    assert sample["manifest_data"]["counts"]["coco"][split]["annotations"] == len(anns)


def _nearest_joint(pixel):
    dist = np.abs(np.asarray(JOINT_COLOURS_BGR, int) - pixel.astype(int)).sum(axis=1)
    return int(dist.argmin()), int(dist.min())


def _check_colours(image, points, what):
    for joint, x, y in points:
        nearest, dist = _nearest_joint(image[y, x])
        assert nearest == joint and dist < 120, f"{what}: joint {joint} at {x},{y} shows {image[y, x]}"


def test_coco_keypoints_sit_on_their_joint_colour(sample):
    images = _images(sample["dir"] / "val2017.zip")
    doc = _coco(sample, "val")
    names = {i["id"]: i["file_name"] for i in doc["images"]}
    checked = 0
    for a in doc["annotations"]:
        kps = np.asarray(a["keypoints"]).reshape(17, 3)
        points = [(j, x, y) for j, (x, y, v) in enumerate(kps) if v == 2]
        _check_colours(images[names[a["image_id"]]], points, f"annotation {a['id']}")
        checked += len(points)
    assert checked > 500


def test_aic_keypoints_sit_on_their_joint_colour(sample):
    images = _images(sample["dir"] / f"{AIC_VAL}.zip")
    bad = {(r["image_id"], r["human"]) for r in
           sample["manifest_data"]["counts"]["aic"]["validation"]["bad_records"]}
    checked = 0
    for record in _aic(sample, AIC_VAL, "keypoint_validation_annotations_20170911.json"):
        for human, flat in record["keypoint_annotations"].items():
            if (record["image_id"], human) in bad:
                continue
            kps = np.asarray(flat).reshape(14, 3)
            points = [(AIC_JOINTS[a], x, y) for a, (x, y, v) in enumerate(kps) if v == 1]
            _check_colours(images[f"{record['image_id']}.jpg"], points, f"{record['image_id']}/{human}")
            checked += len(points)
    assert checked > 300


def _defects(record, human, image_size):
    """The defects a human of a raw AIC record has, by the names the manifest uses."""
    kps = record["keypoint_annotations"].get(human)
    box = record["human_annotations"].get(human)
    found = set()
    if box is None:
        found.add("human without box")
    elif box[2] < box[0]:
        found.add("box x2 < x1 or y2 < y1")
    if kps is None:
        found.add("box without human")
    elif len(kps) != 42:
        found.add("wrong keypoint length")
    elif image_size is not None:
        w, h = image_size
        points = np.asarray(kps).reshape(14, 3)
        labeled = points[points[:, 2] != 3]
        if ((labeled[:, 0] >= w) | (labeled[:, 1] >= h) | (labeled[:, :2] < 0).any(1)).any():
            found.add("keypoint outside image")
    return found


@pytest.mark.parametrize("top,name,split", [
    (AIC_TRAIN, "keypoint_train_annotations_20170909.json", "train"),
    (AIC_VAL, "keypoint_validation_annotations_20170911.json", "validation")])
def test_aic_bad_records_are_the_listed_ones(sample, top, name, split):
    counts = sample["manifest_data"]["counts"]["aic"][split]
    records = _aic(sample, top, name)
    images = _images(sample["dir"] / f"{top}.zip")
    found = []
    humans = 0
    for record in records:
        assert re.fullmatch(r"[0-9a-f]{40}", record["image_id"]) and record["url"]
        keys = set(record["keypoint_annotations"]) | set(record["human_annotations"])
        humans += len(keys)
        image = images.get(f"{record['image_id']}.jpg")
        if image is None:
            found.append({"image_id": record["image_id"], "human": None,
                          "reason": "image file missing", "humans": len(keys)})
            continue
        size = image.shape[1], image.shape[0]
        for human in sorted(keys, key=lambda h: int(h[5:])):
            for reason in sorted(_defects(record, human, size)):
                found.append({"image_id": record["image_id"], "human": human, "reason": reason})
            kps = record["keypoint_annotations"].get(human)
            if kps and len(kps) == 42:
                vis = kps[2::3]
                assert set(vis) <= {1, 2, 3}
                assert all(kps[3 * i:3 * i + 2] == [0, 0] for i, v in enumerate(vis) if v == 3)
    key = lambda r: (r["image_id"], r["human"] or "")
    assert sorted(found, key=key) == sorted(counts["bad_records"], key=key)
    assert counts["records"] == len(records) and counts["humans"] == humans
    assert counts["humans_kept"] + counts["humans_rejected"] == humans
    if split == "train":
        assert {r["reason"] for r in found} == {
            "human without box", "box without human", "wrong keypoint length", "box x2 < x1 or y2 < y1",
            "keypoint outside image", "image file missing"}


def test_small_sizes_are_honoured(tmp_path):
    result = generate_sample(tmp_path, sizes=SampleSizes(4, 2, 3, 2))
    counts = result["counts"]
    assert counts["coco"]["train"]["images"] == 4 and counts["coco"]["val"]["images"] == 2
    assert counts["aic"]["train"]["records"] == 3 and counts["aic"]["validation"]["records"] == 2

"""VerifyImages on the sample with damaged images in private copies of its archives: each bad
image is rejected with its reason and counted with its annotations, the verified lists pass
the schema, training and evaluation read only the verified lists, a re-run decodes nothing."""
import csv
import hashlib
import json
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from pipeline.cached_task import runs_log_path
from pipeline.model_nodes import EvaluateModel, TrainModel
from pipeline.tasks import BuildMergedAnnotations, VerifyImages
from pipeline_helpers import build
from tasks.common.schema import check_schema
from tasks.imagecheck import verify
from tasks.sample.archive import zip_bytes

REPORT_KEYS = {"checked", "kept", "rejected", "rejected_annotations", "reasons", "rejections"}
SEEN = {}   # what the recording work functions below were given


def _resized(data: bytes) -> bytes:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return cv2.imencode(".jpg", cv2.resize(image, (image.shape[1] + 16, image.shape[0])))[1].tobytes()


# (archive key in datasets.yml, which .jpg member by sorted index) -> (expected reason, new bytes or None: removed)
DAMAGE = {
    ("coco", "train2017", 0): ("truncated", lambda data: data[:3000]),
    ("coco", "train2017", 1): ("zero bytes", lambda data: b""),
    ("coco", "train2017", 2): ("not an image", lambda data: b"<html><body>404 Not Found</body></html>\n"),
    ("coco", "train2017", 4): ("size differs from annotation", _resized),
    ("coco", "train2017", 5): ("missing file", None),
    ("aic", "keypoint_train", 0): ("truncated", lambda data: data[:3000]),
    ("coco", "val2017", 0): ("truncated", lambda data: data[:3000]),
}


def _damage_archive(src: Path, dst: Path, damage: dict) -> dict:
    """Copy the zip `src` to `dst` with member index -> (reason, change) applied; returns
    {image file name: reason}."""
    with zipfile.ZipFile(src) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist() if not info.is_dir()}
    images = sorted(name for name in members if name.endswith(".jpg"))
    damaged = {}
    for index, (reason, change) in damage.items():
        name = images[index]
        damaged[Path(name).name] = reason
        if change is None:
            del members[name]
        else:
            members[name] = change(members[name])
    dst.write_bytes(zip_bytes(members))
    return damaged


@pytest.fixture
def damaged(sample_pipeline, tmp_path):
    """The sample pipeline with the DAMAGE applied; {(dataset, archive): {file name: reason}}."""
    config = yaml.safe_load(sample_pipeline["datasets"].read_text())
    per_archive = {}
    for (dataset, archive, index), change in DAMAGE.items():
        per_archive.setdefault((dataset, archive), {})[index] = change
    damaged = {}
    for (dataset, archive), damage in per_archive.items():
        entry = config[dataset][archive]
        dst = tmp_path / f"damaged_{archive}.zip"
        damaged[dataset, archive] = _damage_archive(Path(entry["url"].removeprefix("file://")), dst, damage)
        entry.update(url=dst.as_uri(), md5=hashlib.md5(dst.read_bytes()).hexdigest())
    sample_pipeline["datasets"].write_text(yaml.safe_dump(config))
    return {**sample_pipeline, "damaged": damaged}


def _expected(damaged_files: dict, source_list: Path) -> dict:
    """file name (basename) -> (reason, number of annotations) for the damaged images in the list."""
    doc = json.loads(source_list.read_text())
    per_image = {}
    for ann in doc["annotations"]:
        per_image[ann["image_id"]] = per_image.get(ann["image_id"], 0) + 1
    return {Path(im["file_name"]).name: (damaged_files[Path(im["file_name"]).name], per_image.get(im["id"], 0))
            for im in doc["images"] if Path(im["file_name"]).name in damaged_files}


def _check_outputs(node, expected: dict, source_list: Path):
    out = node.outputs()
    report = json.loads(out["report"].read_text())
    assert set(report) == REPORT_KEYS
    got = {Path(r["file_name"]).name: (r["reason"], r["annotations"]) for r in report["rejections"]}
    assert got == expected
    assert all(r["detail"] for r in report["rejections"])
    source, verified = json.loads(source_list.read_text()), json.loads(out["verified"].read_text())
    check_schema(verified, "coco_keypoints", out["verified"])
    assert report["checked"] == len(source["images"]) == report["kept"] + report["rejected"]
    assert report["kept"] == len(verified["images"]) and report["rejected"] == len(expected)
    assert report["rejected_annotations"] == sum(n for _, n in expected.values()) > 0
    assert len(verified["annotations"]) == len(source["annotations"]) - report["rejected_annotations"]
    assert not {Path(im["file_name"]).name for im in verified["images"]} & set(expected)
    reasons = {}
    for reason, _ in expected.values():
        reasons[reason] = reasons.get(reason, 0) + 1
    assert report["reasons"] == reasons
    with open(out["rejections"], newline="") as f:
        assert [row["file_name"] for row in csv.DictReader(f)] == [r["file_name"] for r in report["rejections"]]
    return report


def _counting_decodes(monkeypatch) -> list:
    """Count the files decoded in this process (the node runs on few files: no worker processes)."""
    decoded = []
    real = verify.check_file

    def counted(path):
        decoded.append(Path(path).name)
        return real(path)
    monkeypatch.setattr(verify, "check_file", counted)
    return decoded


def test_bad_training_images_are_rejected_counted_and_never_trained_on(damaged):
    node = VerifyImages(split="train")
    build(node)
    merged = BuildMergedAnnotations().outputs()["merged"]
    damaged_files = {**damaged["damaged"]["coco", "train2017"], **damaged["damaged"]["aic", "keypoint_train"]}
    expected = _expected(damaged_files, merged)
    assert len(expected) == 6   # five COCO (one per reason) and the cut AIC image
    report = _check_outputs(node, expected, merged)
    assert report["reasons"] == {"missing file": 1, "not an image": 1, "size differs from annotation": 1,
                                 "truncated": 2, "zero bytes": 1}


def test_bad_val_images_are_rejected_and_never_scored(damaged):
    node = VerifyImages(split="val")
    build(node)
    val_list = node.requires()["annotations"].located()["files"]["val"]
    _check_outputs(node, _expected(damaged["damaged"]["coco", "val2017"], val_list), val_list)


def _log_length():
    return len(runs_log_path().read_text().splitlines()) if runs_log_path().exists() else 0


def test_a_rerun_decodes_nothing_and_a_changed_list_decodes_only_its_new_images(damaged, monkeypatch,
                                                                                luigi_config):
    build(VerifyImages(split="train"))
    first = json.loads(VerifyImages(split="train").manifest_path().read_text())["info"]
    assert first["decoded"] == first["checked"] - 2   # the missing and the empty file need no decode
    decoded, before = _counting_decodes(monkeypatch), _log_length()
    build(VerifyImages(split="train"))   # nothing changed: complete, nothing runs, nothing decoded
    assert decoded == []
    assert not [line for line in runs_log_path().read_text().splitlines()[before:] if '"done"' in line]
    # the merged list grows by AIC validation: only its images are decoded
    luigi_config("BuildMergedAnnotations", "include_aic_validation", "true")
    variant = VerifyImages(split="train")
    build(variant)
    merged = BuildMergedAnnotations().outputs()["merged"]
    aic_val = [Path(im["file_name"]).name for im in json.loads(merged.read_text())["images"]
               if im["file_name"].startswith("aic/val/")]
    assert aic_val and sorted(decoded) == sorted(aic_val)
    assert variant.outputs()["verified"].name == "aic_coco_train_verified__include_aic_validation.json"
    assert json.loads(variant.manifest_path().read_text())["info"]["decoded"] == len(aic_val)


def record_training(config, train_ann, image_root, out_dir, **options):
    SEEN["train"] = (Path(train_ann), Path(image_root))
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("model_final.pdparams", "config_used.yml", "train_log.csv", "curves.png"):
        (out_dir / name).write_text(name)
    (out_dir / "train_summary.json").write_text("{}")   # the node reports the training's summary
    return {}


def record_evaluation(config, weights, val_ann, image_root, out_dir):
    SEEN["val"] = (Path(val_ann), Path(image_root))
    Path(out_dir).mkdir(parents=True)
    return {}


class RecordedTraining(TrainModel):
    def train_function(self):
        return record_training


class RecordedEvaluation(EvaluateModel):
    train_node = RecordedTraining

    def evaluate_function(self):
        return record_evaluation

    def reported_metrics(self):
        return ()


def test_training_and_evaluation_read_the_verified_lists(damaged):
    SEEN.clear()
    build(RecordedEvaluation(config="configs/tinypose_128x96_sample.yml"))
    for split in ("train", "val"):
        listed, image_root = SEEN[split]
        assert listed == VerifyImages(split=split).outputs()["verified"]
        names = {Path(im["file_name"]).name for im in json.loads(listed.read_text())["images"]}
        bad = {name for (_, archive), files in damaged["damaged"].items()
               if (archive == "val2017") == (split == "val") for name in files}
        assert names and not names & bad
        assert all((image_root / im["file_name"]).is_file() for im in json.loads(listed.read_text())["images"])

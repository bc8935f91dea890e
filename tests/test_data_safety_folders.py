"""Datasets already extracted on disk (`path:` entries): used where they are, never copied or
written to, linked where the merged file names expect them, and fingerprinted so that a changed
image re-runs what depends on it."""
import os
import shutil

import pytest
import yaml

from pipeline.tasks import BuildMergedAnnotations
from tasks.common.fingerprint import folder_fingerprint
from tasks.datasets.config import DatasetsConfigError, load_datasets_config
from tasks.datasets.extract import extract
from test_pipeline_data import build, log_length, ran

ROOT_CONFIG = {"coco": ["train2017", "val2017", "annotations_trainval2017"],
               "aic": ["keypoint_train", "keypoint_validation"]}


@pytest.fixture
def on_disk(sample_pipeline, tmp_path):
    """The sample's archives extracted into a "user's" folder, and the datasets config rewritten
    to use them in place: the COCO image folders themselves (`images: .`), the folder holding
    annotations/, the AIC folders with the official globs."""
    config = yaml.safe_load(sample_pipeline["datasets"].read_text())
    disk = tmp_path / "datasets"
    for group, names in ROOT_CONFIG.items():
        for name in names:
            entry = config[group][name]
            folder = extract(entry.pop("url").removeprefix("file://"), disk / group / name, progress=False)
            del entry["md5"]
            entry["path"] = str(folder)
            if "images" in entry and group == "coco":
                entry["path"], entry["images"] = str(folder / entry["images"]), "."
    sample_pipeline["datasets"].write_text(yaml.safe_dump(config))
    return {**sample_pipeline, "disk": disk, "config": config}


def snapshot(folder):
    return folder_fingerprint(folder), sorted(p.stat().st_mtime_ns for p in folder.rglob("*"))


def test_folders_on_disk_are_used_in_place_and_never_written(on_disk):
    before = snapshot(on_disk["disk"])
    build(BuildMergedAnnotations(include_aic_validation=True))
    root = on_disk["root"]
    assert snapshot(on_disk["disk"]) == before
    assert not (root / "downloads").exists()
    kept = sorted(str(p.relative_to(root)) for p in (root / "extracted").rglob("*") if not p.name.startswith("."))
    assert kept == ["extracted/aic", *(f"extracted/aic/{name}.manifest.json" for name in ROOT_CONFIG["aic"]),
                    "extracted/coco", "extracted/coco/annotations_trainval2017.manifest.json",
                    "extracted/coco/train2017.manifest.json"]   # manifests only: nothing extracted
    config = on_disk["config"]
    assert os.readlink(root / "coco" / "train2017") == config["coco"]["train2017"]["path"]
    assert (root / "aic" / "train").resolve() == \
        on_disk["disk"] / "aic" / "keypoint_train" / config["aic"]["keypoint_train"]["images"]
    merged = yaml.safe_load((root / "annotations" / "aic_coco_train_cocoformat__include_aic_validation.json")
                            .read_text())
    assert merged["images"] and all((root / image["file_name"]).is_file() for image in merged["images"])
    before = log_length()
    build(BuildMergedAnnotations(include_aic_validation=True))
    assert ran(root, before) == []


@pytest.mark.parametrize("image_folder", ["coco/train2017/train2017", "aic/keypoint_train"])
def test_an_image_changed_with_the_same_size_reruns_the_merge(on_disk, image_folder):
    build(BuildMergedAnnotations())
    image = sorted((on_disk["disk"] / image_folder).rglob("*.jpg"))[0]
    data = bytearray(image.read_bytes())
    at = data.index(b"\xff\xdb") + 5     # one quantization value: same size, still a JPEG
    data[at] = data[at] % 200 + 1
    stat = image.stat()
    image.write_bytes(bytes(data))
    os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    before = log_length()
    build(BuildMergedAnnotations())
    families = {task.split("_")[0] for task in ran(on_disk["root"], before)}
    assert {"ExtractArchive", "BuildMergedAnnotations"} <= families
    assert "DownloadArchive" not in families


def test_an_annotation_file_rewritten_with_size_and_mtime_kept_reruns_the_conversion(on_disk):
    build(BuildMergedAnnotations())
    entry = load_datasets_config(on_disk["datasets"])["aic"]["keypoint_train"]
    annotations = on_disk["disk"] / "aic" / "keypoint_train" / entry["annotations"]
    stat = annotations.stat()
    annotations.write_text(annotations.read_text().replace('"human1"', '"human9"', 1))
    os.utime(annotations, ns=(stat.st_atime_ns, stat.st_mtime_ns))   # as `cp -p` would leave it
    assert annotations.stat().st_size == stat.st_size
    before = log_length()
    build(BuildMergedAnnotations())
    assert "ConvertAIChallenger" in {task.split("_")[0] for task in ran(on_disk["root"], before)}


def write_config(tmp_path, edit):
    config = {group: {name: {"path": str(tmp_path)} for name in names} for group, names in ROOT_CONFIG.items()}
    edit(config)
    path = tmp_path / "datasets.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize("edit, words", [
    (lambda c: c["coco"]["train2017"].update(url="http://x/train2017.zip"),
     "coco/train2017: `path` and `url` together"),
    (lambda c: c["aic"]["keypoint_train"].update(md5="0123456789abcdef0123456789abcdef"),
     "aic/keypoint_train: `path` and `md5` together"),
    (lambda c: c["aic"]["keypoint_train"].update(path="/no/such/folder"),
     "aic/keypoint_train/path: /no/such/folder does not exist"),
    (lambda c: c["coco"]["val2017"].update(path="datasets.yml"), "is a file, not a folder"),
])
def test_folder_entry_errors_name_the_file_the_key_and_the_fix(tmp_path, edit, words):
    path = write_config(tmp_path, edit)
    with pytest.raises(DatasetsConfigError) as caught:
        load_datasets_config(path)
    assert str(path) in str(caught.value) and words in str(caught.value)


def test_relative_folder_paths_are_relative_to_the_config(tmp_path):
    (tmp_path / "coco" / "train2017").mkdir(parents=True)
    path = write_config(tmp_path, lambda c: c["coco"]["train2017"].update(path="coco/train2017", images="."))
    entry = load_datasets_config(path)["coco"]["train2017"]
    assert entry["path"] == str(tmp_path / "coco" / "train2017") and "url" not in entry
    shutil.rmtree(tmp_path / "coco")

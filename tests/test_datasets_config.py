"""Datasets config (schema, defaults, error messages) and locating files in extracted archives."""
from pathlib import Path

import pytest
import yaml

from tasks.datasets.config import MD5_PLACEHOLDER, DatasetsConfigError, archive_urls, load_datasets_config
from tasks.datasets.layout import ARCHIVE_LAYOUTS
from tasks.datasets.locate import LocateError, locate, locate_entry

ROOT = Path(__file__).resolve().parents[1]
MD5 = "0123456789abcdef0123456789abcdef"


def _minimal():
    entry = {"url": "http://example.invalid/x.zip", "md5": MD5}
    return {"coco": {k: dict(entry) for k in ("train2017", "val2017", "annotations_trainval2017")},
            "aic": {k: dict(entry) for k in ("keypoint_train", "keypoint_validation")}}


def _write(tmp_path, config) -> Path:
    path = tmp_path / "datasets.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_shipped_config_is_valid_and_complete():
    config = load_datasets_config(ROOT / "configs/datasets.yml")
    assert config["coco"]["train2017"]["md5"] == "cced6f7f71b7629ddf16f17bbcfab6b2"
    assert config["coco"]["train2017"]["filename"] == "train2017.zip"
    val_urls = archive_urls(config["coco"]["val2017"])
    assert val_urls[0] == "http://images.cocodataset.org/zips/val2017.zip"
    for (group, name), layout in ARCHIVE_LAYOUTS.items():
        for key, value in layout.items():
            assert config[group][name][key] == value


def test_defaults_filled_and_relative_paths_resolved(tmp_path):
    config = _minimal()
    config["aic"]["keypoint_train"]["url"] = "archives/aic train.zip"
    loaded = load_datasets_config(_write(tmp_path, config))
    train = loaded["aic"]["keypoint_train"]
    assert train["url"] == str(tmp_path / "archives" / "aic train.zip")
    assert train["filename"] == "aic train.zip" and train["mirrors"] == []
    assert train["images"] == ARCHIVE_LAYOUTS[("aic", "keypoint_train")]["images"]
    assert loaded["coco"]["annotations_trainval2017"]["files"]["val"].endswith("val2017.json")


@pytest.mark.parametrize("edit,key,words", [
    (lambda c: c["coco"]["val2017"].update(md5="nope"), "coco/val2017/md5", "nope"),
    (lambda c: c["aic"].pop("keypoint_validation"), "aic", "keypoint_validation"),
    (lambda c: c["coco"]["train2017"].pop("url"), "coco/train2017", "url"),
    (lambda c: c["coco"]["train2017"].update(url="ftp://x/y.zip"), "coco/train2017/url", "ftp"),
    (lambda c: c["coco"]["train2017"].update(images="../up"), "coco/train2017/images", "../up"),
    (lambda c: c["coco"]["train2017"].update(colour="red"), "coco/train2017", "colour"),
])
def test_errors_name_file_and_key(tmp_path, edit, key, words):
    config = _minimal()
    edit(config)
    path = _write(tmp_path, config)
    with pytest.raises(DatasetsConfigError) as err:
        load_datasets_config(path)
    message = str(err.value)
    assert str(path) in message and f"  {key}:" in message and words in message


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(DatasetsConfigError, match="does not exist"):
        load_datasets_config(tmp_path / "none.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("coco: [unclosed\n")
    with pytest.raises(DatasetsConfigError, match="bad.yml: not valid YAML"):
        load_datasets_config(bad)


def test_placeholder_md5_is_accepted_by_the_schema(tmp_path):
    config = _minimal()
    config["aic"]["keypoint_train"]["md5"] = "fill-in-the-md5-of-your-copy"
    loaded = load_datasets_config(_write(tmp_path, config))
    assert loaded["aic"]["keypoint_train"]["md5"] == MD5_PLACEHOLDER


@pytest.fixture
def extracted(tmp_path):
    top = tmp_path / "ai_challenger_keypoint_train_20170902"
    (top / "keypoint_train_images_20170902").mkdir(parents=True)
    (top / "keypoint_train_annotations_20170909.json").write_text("[]")
    (top / "notes_a.json").write_text("{}")
    (top / "notes_b.json").write_text("{}")
    return tmp_path


def test_locate_exactly_one(extracted):
    found = locate(extracted, "*/keypoint_train_images_*", kind="dir")
    assert found.name == "keypoint_train_images_20170902"
    assert locate(extracted, "**/keypoint_train_annotations_*.json", kind="file").is_file()


def test_locate_none_and_several_are_clear(extracted):
    with pytest.raises(LocateError, match=r"no folder .* matches 'val\*'.*ai_challenger"):
        locate(extracted, "val*", kind="dir")
    with pytest.raises(LocateError, match=r"2 files .*notes_a\.json, .*notes_b\.json"):
        locate(extracted, "*/notes_*.json", kind="file")
    with pytest.raises(LocateError, match="must not contain"):
        locate(extracted, "../*")


def test_locate_entry_with_default_layout(extracted):
    found = locate_entry(extracted, ARCHIVE_LAYOUTS[("aic", "keypoint_train")])
    assert found["images"].is_dir() and found["annotations"].name.endswith("20170909.json")

"""The pipeline never replaces or deletes what it did not write: a user's folder or file at a
node's output path stops the node with an error naming the path, and is left as it was."""
import logging
import shutil

import luigi
import pytest
import yaml

from pipeline.tasks import ConvertAIChallenger, DownloadArchive, ExtractArchive
from pipeline_helpers import build

IMAGE_LINKS = [("coco", "train2017", "coco/train2017"), ("coco", "val2017", "coco/val2017"),
               ("aic", "keypoint_train", "aic/train"), ("aic", "keypoint_validation", "aic/val")]


def users_folder(path):
    """A real folder at `path` holding a marker file, as a user's images would be."""
    path.mkdir(parents=True)
    (path / "000000000001.jpg").write_bytes(b"the user's own image")
    return path / "000000000001.jpg"


def build_fails(node, caplog):
    """Run `node` through Luigi, which must fail; returns what Luigi logged."""
    with caplog.at_level(logging.ERROR):
        result = luigi.build([node], local_scheduler=True, detailed_summary=True)
    assert not result.scheduling_succeeded, result.summary_text
    return caplog.text


@pytest.mark.parametrize("dataset, archive, link", IMAGE_LINKS)
def test_a_folder_at_an_image_link_path_stops_the_node_and_survives(sample_pipeline, caplog, dataset,
                                                                     archive, link):
    marker = users_folder(sample_pipeline["root"] / link)
    logged = build_fails(ExtractArchive(dataset=dataset, archive=archive), caplog)
    assert marker.read_bytes() == b"the user's own image"
    assert f"this pipeline did not write what is at {sample_pipeline['root'] / link}" in logged
    assert "path: /the/folder" in logged
    # nothing else of the node was placed either
    assert not (sample_pipeline["root"] / "extracted" / dataset / archive).exists()


def test_a_folder_at_the_extracted_output_path_stops_the_node(sample_pipeline, caplog):
    folder = sample_pipeline["root"] / "extracted" / "aic" / "keypoint_train"
    marker = users_folder(folder)
    logged = build_fails(ExtractArchive(dataset="aic", archive="keypoint_train"), caplog)
    assert marker.read_bytes() == b"the user's own image"
    assert f"this pipeline did not write what is at {folder}" in logged


def test_a_file_at_an_output_path_stops_the_node(sample_pipeline, caplog):
    converted = sample_pipeline["root"] / "annotations" / "aic_train_cocoformat.json"
    converted.parent.mkdir(parents=True)
    converted.write_text("my own notes")
    logged = build_fails(ConvertAIChallenger(split="train"), caplog)
    assert converted.read_text() == "my own notes"
    assert f"this pipeline did not write what is at {converted}" in logged


def test_outputs_of_an_earlier_run_are_replaced_even_without_the_manifest(sample_pipeline):
    node = ExtractArchive(dataset="coco", archive="train2017")
    build(node)
    node.manifest_path().unlink()   # lost, or a run killed after it was removed
    build(node)
    assert node.complete() and (sample_pipeline["root"] / "coco" / "train2017").is_symlink()


def test_a_users_folder_put_where_the_link_was_is_not_replaced(sample_pipeline, caplog):
    node = ExtractArchive(dataset="aic", archive="keypoint_train")
    build(node)
    link = sample_pipeline["root"] / "aic" / "train"
    link.unlink()
    marker = users_folder(link)
    logged = build_fails(node, caplog)
    assert marker.read_bytes() == b"the user's own image"
    assert f"this pipeline did not write what is at {link}" in logged


def test_an_archive_copied_to_the_download_location_is_used_if_its_md5_matches(sample_pipeline, caplog):
    entry = yaml.safe_load(sample_pipeline["datasets"].read_text())["coco"]["val2017"]
    dest = sample_pipeline["root"] / "downloads" / "coco" / "val2017.zip"
    dest.parent.mkdir(parents=True)
    shutil.copy(entry["url"].removeprefix("file://"), dest)
    build(DownloadArchive(dataset="coco", archive="val2017"))
    other = DownloadArchive(dataset="aic", archive="keypoint_train")
    wrong = other.outputs()["archive"]
    wrong.parent.mkdir(parents=True)
    wrong.write_bytes(b"not the configured archive")
    logged = build_fails(other, caplog)
    assert wrong.read_bytes() == b"not the configured archive"
    assert f"this pipeline did not write what is at {wrong}" in logged

"""The data DAG on the embedded sample, through the real Luigi scheduler."""
import hashlib
import json
import shutil
import zipfile

import luigi
import pytest
import yaml
from pycocotools.coco import COCO

from pipeline.cached_task import runs_log_path
from pipeline.tasks import BuildMergedAnnotations, ConvertAIChallenger, ExtractArchive
from tasks.sample.archive import zip_bytes


def build(*tasks):
    result = luigi.build(list(tasks), local_scheduler=True, detailed_summary=True)
    assert result.scheduling_succeeded, result.summary_text
    return result


def ran(root, since=0):
    """Task ids that really ran (not skipped) after line `since` of the runs log."""
    lines = runs_log_path().read_text().splitlines()[since:] if runs_log_path().exists() else []
    return [e["task"] for e in map(json.loads, lines) if e["event"] == "done"]


def log_length():
    return len(runs_log_path().read_text().splitlines()) if runs_log_path().exists() else 0


@pytest.fixture
def merged(sample_pipeline):
    build(BuildMergedAnnotations())
    return sample_pipeline


def test_merged_file_on_sample(merged, sample_manifest):
    root = merged["root"]
    annotations = root / "annotations"
    coco = COCO(str(annotations / "aic_coco_train_cocoformat.json"))
    counts = sample_manifest["counts"]
    expected_images = counts["coco"]["train"]["images"] + counts["aic"]["train"]["images_in_archive"]
    assert len(coco.imgs) == expected_images
    expected_anns = counts["coco"]["train"]["annotations"] + counts["aic"]["train"]["humans_kept"]
    assert len(coco.anns) == expected_anns
    assert sorted(coco.imgs) == list(range(1, expected_images + 1))
    assert sorted(coco.anns) == list(range(1, expected_anns + 1))
    # every file name resolves under the data root (through the image-folder links)
    for image in coco.imgs.values():
        assert (root / image["file_name"]).is_file(), image["file_name"]
    prefixes = {img["file_name"].rsplit("/", 1)[0] for img in coco.imgs.values()}
    assert prefixes == {"coco/train2017", "aic/train"}
    report = json.loads((annotations / "aic_train_conversion_report.json").read_text())
    assert report["rejected_humans_by_reason"] == counts["aic"]["train"]["rejected_by_reason"]
    assert report["input_humans"] == report["kept_humans"] + report["rejected_humans"]
    for name in ("aic_coco_train_stats.png", "aic_coco_train_lineage.csv",
                 "aic_coco_train_stats.json", "aic_coco_train_merge_report.json"):
        assert (annotations / name).stat().st_size > 0


def test_rerun_with_nothing_changed_runs_nothing(merged):
    before = log_length()
    build(BuildMergedAnnotations())
    assert ran(merged["root"], before) == []


def test_conversion_parameter_reruns_conversion_and_merge_only(merged, luigi_config):
    before = log_length()
    luigi_config("ConvertAIChallenger", "min_box_area", 5000)
    build(BuildMergedAnnotations())
    families = sorted(task.split("_")[0] for task in ran(merged["root"], before))
    assert families == ["BuildMergedAnnotations", "ConvertAIChallenger"]
    # the variant has its own files; the default ones are untouched and still complete
    annotations = merged["root"] / "annotations"
    assert (annotations / "aic_train_cocoformat__min_box_area5000.json").is_file()
    assert (annotations / "aic_coco_train_cocoformat__min_box_area5000.json").is_file()
    luigi_config("ConvertAIChallenger", "min_box_area", 0.0)
    assert BuildMergedAnnotations().complete()


def test_url_change_with_same_checksum_reruns_nothing(merged, tmp_path):
    config = yaml.safe_load(merged["datasets"].read_text())
    moved = tmp_path / "mirror"
    moved.mkdir()
    for group in config.values():
        for entry in group.values():
            source = entry["url"].removeprefix("file://")
            shutil.copy(source, moved)
            entry["url"] = (moved / source.rsplit("/", 1)[1]).as_uri()
    merged["datasets"].write_text(yaml.safe_dump(config))
    before = log_length()
    build(BuildMergedAnnotations())
    assert ran(merged["root"], before) == []


def test_changed_input_file_reruns_downstream(merged):
    converted = merged["root"] / "annotations" / "aic_train_cocoformat.json"
    converted.write_text(converted.read_text() + " ")   # touched by hand: no longer the recorded output
    assert not ConvertAIChallenger(split="train").complete()
    before = log_length()
    build(BuildMergedAnnotations())
    families = sorted(task.split("_")[0] for task in ran(merged["root"], before))
    assert families == ["BuildMergedAnnotations", "ConvertAIChallenger"] or \
        families == ["ConvertAIChallenger"]  # same bytes again: the merge stays valid


def test_leftovers_of_a_killed_run_are_removed_by_the_rerun(merged, luigi_config):
    dead_pid = 2**22 + 1  # above PID_MAX_LIMIT: no process has it
    merged_json = merged["root"] / "annotations" / "aic_coco_train_cocoformat.json"
    leftover = merged_json.with_name(f".tmp-{dead_pid}-0123abcd-{merged_json.name}")
    leftover.write_text("half a merged file")
    nested = merged_json.with_name(f".tmp-{dead_pid}-89abcdef-{leftover.name}")  # staged, then atomic
    nested.write_text("half a merged file")
    live = merged_json.with_name(f".tmp-1-0123abcd-{merged_json.name}")  # pid 1 runs: kept
    live.write_text("another writer's file")
    BuildMergedAnnotations().manifest_path().unlink()
    build(BuildMergedAnnotations())
    assert not leftover.exists() and not nested.exists()
    assert live.exists()


def test_removed_image_link_makes_the_extract_node_incomplete(merged):
    node = ExtractArchive(dataset="coco", archive="train2017")
    assert node.complete()
    (merged["root"] / "coco" / "train2017").unlink()
    assert not node.complete()
    build(BuildMergedAnnotations())
    assert (merged["root"] / "coco" / "train2017").is_symlink()


def replace_one_image_keeping_its_size(archive, out):
    """A copy of the zip `archive` at `out` whose first JPEG has one quantization value
    changed: same entries, same sizes, a still decodable image, new bytes."""
    with zipfile.ZipFile(archive) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist() if not info.is_dir()}
    name = sorted(n for n in members if n.endswith(".jpg"))[0]
    data = bytearray(members[name])
    at = data.index(b"\xff\xdb") + 5    # DQT marker, length (2), table id: the first value
    data[at] = data[at] % 200 + 1
    members[name] = bytes(data)
    out.write_bytes(zip_bytes(members))
    return hashlib.md5(out.read_bytes()).hexdigest()


@pytest.mark.parametrize("dataset, archive", [("coco", "train2017"), ("aic", "keypoint_train")])
def test_image_changed_inside_an_archive_with_the_same_size_reruns_the_merge(merged, tmp_path, dataset,
                                                                              archive):
    config = yaml.safe_load(merged["datasets"].read_text())
    entry = config[dataset][archive]
    changed = tmp_path / entry["url"].rsplit("/", 1)[1]
    entry["md5"] = replace_one_image_keeping_its_size(entry["url"].removeprefix("file://"), changed)
    entry["url"] = changed.as_uri()
    merged["datasets"].write_text(yaml.safe_dump(config))
    before = log_length()
    build(BuildMergedAnnotations())
    families = {task.split("_")[0] for task in ran(merged["root"], before)}
    assert {"DownloadArchive", "ExtractArchive", "BuildMergedAnnotations"} <= families

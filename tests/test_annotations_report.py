"""Statistics report of the merged file: JSON, text summary, PNG."""
import orjson
import pytest

from tasks.annotations.coco import COCO_KEYPOINTS
from tasks.annotations.report import build_report, format_summary, write_report
from tasks.annotations.validate import load_json
from test_annotations_merge import _run


def test_counts_visibility_sizes_and_rejections(tmp_path):
    merged, merge_report = _run(tmp_path)
    conversion = {"input": "raw.json", "rejected_humans_by_reason": {"keypoint outside image": 2},
                  "rejected_images_by_reason": {"image file missing": 1}}
    report = build_report(merged, merge_report, [conversion])
    coco, aic = report["sources"]["coco"], report["sources"]["aic_train"]
    assert (coco["images"], coco["persons"], coco["persons_with_keypoints"], coco["crowd"]) == \
        (3, 4, 2, 1)
    assert (aic["images"], aic["persons"], aic["persons_with_keypoints"], aic["crowd"]) == \
        (2, 3, 3, 0)
    # COCO: nose labeled visible once (ann 300); right ankle visible once (ann 100)
    assert coco["visibility"]["nose"] == [3, 0, 1]
    assert coco["visibility"]["left_shoulder"] == [3, 1, 0]
    assert coco["visibility"]["right_ankle"] == [3, 0, 1]
    # AIC r-shoulder (visible) -> COCO right_shoulder v=2 on every human; face unlabeled
    assert aic["visibility"]["right_shoulder"] == [0, 0, 3]
    assert aic["visibility"]["nose"] == [3, 0, 0]
    assert sum(sum(v) for v in coco["visibility"].values()) == 4 * len(COCO_KEYPOINTS)
    # areas: COCO 3000.5 x4 (medium); AIC 45*55=2475, 60*70=4200, 80*90=7200 (medium)
    assert coco["box_sizes"] == {"small": 0, "medium": 4, "large": 0}
    assert aic["box_sizes"] == {"small": 0, "medium": 3, "large": 0}
    assert report["totals"]["persons"] == 7
    assert report["rejections"]["convert raw.json"] == {"human: keypoint outside image": 2,
                                                        "image: image file missing": 1}
    text = format_summary(report)
    assert "aic_train" in text and "rejected in convert raw.json: 3" in text


def test_write_report_json_and_png(tmp_path):
    _run(tmp_path)
    doc = load_json(tmp_path / "merged.report.json")
    assert doc["images"] == 5
    report = write_report(tmp_path / "merged.json", tmp_path / "merged.report.json",
                          tmp_path / "stats.json", tmp_path / "stats.png")
    assert orjson.loads((tmp_path / "stats.json").read_bytes()) == report
    png = (tmp_path / "stats.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_mismatched_report_is_refused(tmp_path):
    merged, merge_report = _run(tmp_path)
    merge_report["sources"][1]["annotation_ids"] = [4, 6]
    with pytest.raises(ValueError, match="do not belong together"):
        build_report(merged, merge_report)

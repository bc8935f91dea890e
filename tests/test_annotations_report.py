"""Statistics report of the merged file: JSON, text summary, PNG; every malformed record at once."""
import json
from collections import Counter

import orjson
import pytest

import test_annotations_convert as aic
import test_annotations_merge as coco
from tasks.annotations.aic_to_coco import convert_aic
from tasks.annotations.merge import merge
from tasks.annotations.report import build_report, format_summary, write_report
from tasks.annotations.validate import load_json
from tasks.common.coco import COCO_KEYPOINTS
from tasks.common.schema import check_schema
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


NAN, INF = float("nan"), float("inf")
GOOD_AIC = "c" * 40
# (reason, AIC record fields): each record's human1 breaks one rule (the records of "dup" twice)
AIC_HUMANS = [
    ("non-numeric or non-finite value", dict(humans={"human1": aic._kps({0: (True, 20, 1)})})),
    ("non-numeric or non-finite value", dict(humans={"human1": aic._kps({0: (10, "20", 1)})})),
    ("non-numeric or non-finite value", dict(humans={"human1": aic._kps({0: (NAN, 20, 1)})})),
    ("non-numeric or non-finite value", dict(boxes={"human1": [0, 0, INF, 9]})),
    ("non-numeric or non-finite value", dict(boxes={"human1": [0, False, 9, 9]})),
    ("non-numeric or non-finite value", dict(humans={"human1": aic._kps({0: (10, 20, True)})})),
]
AIC_IMAGES = [
    ("file_name with a '..' part", "../../../../outside/evil"),
    ("file_name is absolute", "/outside/evil"),
    ("file_name with a backslash or NUL", "..\\outside\\evil"),
    ("file_name with a backslash or NUL", "evil\0"),
    ("invalid image_id", True),
    ("duplicate image_id", "d" * 40),
    ("duplicate image_id", "d" * 40),
]


def _bad_aic(tmp_path):
    """A raw AIC file with every malformed case and one good record, converted; the conversion report."""
    records = [aic._record(f"{i:040x}", **fields) for i, (_, fields) in enumerate(AIC_HUMANS)]
    records += [aic._record(image_id) for _, image_id in AIC_IMAGES] + [aic._record(GOOD_AIC)]
    images_dir = tmp_path / "aic_images"
    images_dir.mkdir()
    for image_id in [f"{i:040x}" for i in range(len(AIC_HUMANS))] + ["d" * 40, GOOD_AIC]:
        aic._jpeg(images_dir / f"{image_id}.jpg")
    (tmp_path / "aic_raw.json").write_text(json.dumps(records))  # json writes NaN and Infinity
    return convert_aic(tmp_path / "aic_raw.json", images_dir, tmp_path / "aic_coco.json",
                       report_json=tmp_path / "aic_report.json", progress=False)


def _bad_coco():
    """coco_doc() with every malformed case added: (document, {merge report key: count})."""
    doc = coco.coco_doc()  # images 785, 10, 42; annotations 300, 100, 200 on 785/10, 150 on 42
    image = {"width": 100, "height": 120}
    doc["images"] += [{"id": 1000, "file_name": "../../../../outside/evil.jpg", **image},
                      {"id": 1001, "file_name": "/outside/evil.jpg", **image},
                      {"id": 1002, "file_name": "..\\evil.jpg", **image},
                      {"id": 1003, "file_name": "a\0.jpg", **image},
                      {"id": 1004, "file_name": "x.jpg", "width": True, "height": 120},
                      {"id": 1005, "file_name": "x.jpg", "width": 100, "height": NAN},
                      {"id": True, "file_name": "x.jpg", **image},
                      {"id": 10, "file_name": "other.jpg", **image}]  # 10 twice: both rejected
    bad_numbers = [dict(keypoints=coco._kps((3, True, 5, 2))), dict(keypoints=coco._kps((3, NAN, 5, 2))),
                   dict(keypoints=coco._kps((3, "5", 5, 2))), dict(bbox=[1, 2, INF, 4]),
                   dict(bbox=[1, 2, -INF, 4]), dict(bbox=[1, 2, False, 4]), dict(area=True),
                   dict(area=NAN), dict(area="3")]
    for i, fields in enumerate(bad_numbers):
        doc["annotations"].append({**coco._ann(500 + i, 42), **fields})
    doc["annotations"] += [{**coco._ann(600, 42), "num_keypoints": True},
                           {**coco._ann(601, 42), "iscrowd": True},
                           {**coco._ann(602, 42), "category_id": True},
                           {**coco._ann(603, 42), "id": True},
                           {**coco._ann(604, 42), "image_id": NAN},
                           coco._ann(605, 1000)]  # on an image rejected for its file name
    expected = {"coco image: file_name with a '..' part": 1, "coco image: file_name is absolute": 1,
                "coco image: file_name with a backslash or NUL": 2, "coco image: duplicate image id": 2,
                "coco image: image width/height missing or not a positive integer": 2,
                "coco image: image id missing or not an integer": 1,
                "coco annotation: non-numeric or non-finite value": len(bad_numbers),
                "coco annotation: num_keypoints differs from the labeled keypoints": 1,
                "coco annotation: iscrowd not 0 or 1": 1, "coco annotation: category is not person": 1,
                "coco annotation: annotation id missing or not an integer": 1,
                # 604 (NaN image id), 605 (image 1000) and 100 (image 10, duplicated)
                "coco annotation: image_id not among the kept images": 3}
    return doc, expected


def test_every_malformed_case_at_once_is_counted_and_the_merged_file_passes_its_schema(tmp_path):
    conversion = _bad_aic(tmp_path)
    assert conversion["rejected_humans_by_reason"] == {
        reason: count for reason, count in Counter([r for r, _ in AIC_HUMANS] + [r for r, _ in AIC_IMAGES]).items()}
    assert conversion["rejected_images_by_reason"] == {
        **Counter(r for r, _ in AIC_IMAGES), "no valid human": len(AIC_HUMANS)}
    assert conversion["kept_images"] == 1 and conversion["kept_humans"] == 1
    doc, expected = _bad_coco()
    (tmp_path / "coco.json").write_text(json.dumps(doc))
    out = {"merged": tmp_path / "merged.json", "report": tmp_path / "merge_report.json"}
    report = merge(tmp_path / "coco.json", [tmp_path / "aic_coco.json"], out["merged"], tmp_path / "lineage.csv",
                   out["report"], aic_names=["aic_train"], progress=False)
    assert report["rejections_by_reason"] == expected
    assert [im["file_name"] for im in load_json(out["merged"])["images"]] == [
        "coco/train2017/000000000042.jpg", "coco/train2017/000000000785.jpg", f"aic/train/{GOOD_AIC}.jpg"]
    check_schema(load_json(out["merged"]), "coco_keypoints", out["merged"])  # every record, not a sample
    stats = write_report(out["merged"], out["report"], tmp_path / "stats.json", tmp_path / "stats.png",
                         [tmp_path / "aic_report.json"])
    assert stats["rejections"]["merge"] == expected
    assert stats["rejections"]["convert aic_raw.json"]["image: file_name with a '..' part"] == 1

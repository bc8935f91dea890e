"""AIC -> COCO conversion rules (docs/data.md) on hand-made records."""
import math

import cv2
import numpy as np
import orjson
import pytest

from tasks.annotations.aic import AIC_TO_COCO
from tasks.annotations.aic_to_coco import convert_aic
from tasks.annotations.imagesize import image_size
from tasks.annotations.validate import load_json, validate_document

W, H = 64, 48
SHA = "a" * 40


def _jpeg(path, width=W, height=H):
    cv2.imwrite(str(path), np.full((height, width, 3), 127, np.uint8))


def _kps(points=None):
    """14 AIC joints, all 'not labeled' (v=3) unless given as {aic_index: (x, y, v)}."""
    kps = [0, 0, 3] * 14
    for index, xyv in (points or {}).items():
        kps[3 * index: 3 * index + 3] = list(xyv)
    return kps


def _record(image_id=SHA, humans=None, boxes=None):
    humans = {"human1": _kps({0: (10, 20, 1)})} if humans is None else humans
    boxes = {"human1": [5, 6, 30, 40]} if boxes is None else boxes
    return {"url": f"http://x/{image_id}.jpg", "image_id": image_id,
            "keypoint_annotations": humans, "human_annotations": boxes}


def _convert(tmp_path, records, images=(SHA,), raw_bytes=None, **params):
    images_dir = tmp_path / "images"
    images_dir.mkdir(exist_ok=True)
    for image_id in images:
        _jpeg(images_dir / f"{image_id}.jpg")
    raw = tmp_path / "raw.json"
    raw.write_bytes(raw_bytes if raw_bytes is not None else orjson.dumps(records))
    out = tmp_path / "out.json"
    report = convert_aic(raw, images_dir, out, report_json=tmp_path / "report.json",
                         progress=False, **params)
    return load_json(out), report


def test_image_size_reads_jpeg_and_png_headers(tmp_path):
    _jpeg(tmp_path / "a.jpg", 53, 37)
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((37, 53, 3), np.uint8))
    assert image_size(tmp_path / "a.jpg") == (53, 37)
    assert image_size(tmp_path / "a.png") == (53, 37)
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00")
    with pytest.raises(ValueError):
        image_size(tmp_path / "bad.jpg")


def test_joint_mapping_visibility_and_face(tmp_path):
    # AIC joint i at (i + 1, i + 2); visibility cycles 1, 2, 3
    points = {i: (i + 1, i + 2, 1 + i % 3) for i in range(14)}
    doc, report = _convert(tmp_path, [_record(humans={"human1": _kps(points)})])
    kps = doc["annotations"][0]["keypoints"]
    assert kps[:15] == [0] * 15  # COCO face points 0-4 unlabeled
    expected_vis = {1: 2, 2: 1, 3: 0}
    for aic, coco in enumerate(AIC_TO_COCO):
        x, y, v = points[aic]
        if v == 3:
            assert kps[3 * coco: 3 * coco + 3] == [0, 0, 0]
        else:
            assert kps[3 * coco: 3 * coco + 3] == [x, y, expected_vis[v]]
    assert AIC_TO_COCO == (6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15)
    # head top (12) and neck (13) are dropped: only 12 AIC joints reach COCO
    assert doc["annotations"][0]["num_keypoints"] == sum(1 for i in range(12) if i % 3 != 2)
    assert report["kept_humans"] == 1


def test_record_fields_image_size_and_ids(tmp_path):
    second = "b" * 40
    records = [_record(), _record(second, humans={"human2": _kps(), "human10": _kps(),
                                                  "human1": _kps()},
                                  boxes={"human2": [0, 0, 1, 1], "human10": [0, 0, 2, 2],
                                         "human1": [0, 0, 3, 3]})]
    doc, _ = _convert(tmp_path, records, images=(SHA, second), image_prefix="aic/train")
    assert [im["id"] for im in doc["images"]] == [1, 2]
    assert doc["images"][0] == {"id": 1, "file_name": f"aic/train/{SHA}.jpg", "width": W,
                                "height": H, "aic_id": SHA}
    anns = doc["annotations"]
    assert [a["id"] for a in anns] == [1, 2, 3, 4]
    assert [a["aic_id"] for a in anns[1:]] == [f"{second}/human1", f"{second}/human2",
                                               f"{second}/human10"]
    assert all(a["iscrowd"] == 0 and a["category_id"] == 1 for a in anns)
    assert anns[1]["num_keypoints"] == 0  # a person without labeled joints is kept
    validate_document(doc, "coco_keypoints", "out", sample=100)


@pytest.mark.parametrize("box, clip, expected", [
    ([5, 6, 30, 40], True, [5, 6, 25, 34]),
    ([-10, -5, 30, 100], True, [0, 0, 30, H]),
    ([50, 40, 100, 100], True, [50, 40, W - 50, H - 40]),
    ([-10, -5, 30, 100], False, [-10, -5, 40, 105]),
    ([7, 7, 7, 9], True, [7, 7, 0, 2]),
])
def test_bbox_clipping_and_area(tmp_path, box, clip, expected):
    doc, _ = _convert(tmp_path, [_record(boxes={"human1": box})], clip_boxes=clip)
    ann = doc["annotations"][0]
    assert ann["bbox"] == expected
    assert ann["area"] == expected[2] * expected[3]


def _nan_bytes(token=b"NaN"):
    record = orjson.dumps(_record(humans={"human1": _kps({0: (1, 2, 1)})}))
    return b"[" + record.replace(b"[1,2,1,", b"[" + token + b",2,1,") + b"]"


HUMAN_REASONS = [
    ("wrong keypoint length", dict(humans={"human1": [0, 0, 3] * 13})),
    ("human without box", dict(humans={"human1": _kps(), "human2": _kps()})),
    ("box without human", dict(boxes={"human1": [0, 0, 1, 1], "human2": [0, 0, 1, 1]})),
    ("wrong box length", dict(boxes={"human1": [0, 0, 1]})),
    ("non-numeric or non-finite value", dict(boxes={"human1": [0, 0, "1", 2]})),
    ("non-numeric or non-finite value", dict(boxes={"human1": [0, 0, True, 2]})),
    ("non-numeric or non-finite value", dict(humans={"human1": _kps({0: (True, 20, 1)})})),
    ("non-numeric or non-finite value", dict(humans={"human1": _kps({0: (10, False, 1)})})),
    ("non-numeric or non-finite value", dict(humans={"human1": _kps({0: (10, 20, True)})})),
    ("invalid visibility", dict(humans={"human1": _kps({3: (1, 1, 0)})})),
    ("box x2 < x1 or y2 < y1", dict(boxes={"human1": [30, 6, 5, 40]})),
    ("box x2 < x1 or y2 < y1", dict(boxes={"human1": [5, 40, 30, 6]})),
    ("keypoint outside image", dict(humans={"human1": _kps({2: (W + 1, 5, 1)})})),
    ("keypoint outside image", dict(humans={"human1": _kps({2: (5, -1, 2)})})),
    ("box outside image", dict(boxes={"human1": [W + 5, 0, W + 20, 10]})),
]


@pytest.mark.parametrize("reason, fields", HUMAN_REASONS, ids=[r for r, _ in HUMAN_REASONS])
def test_human_rejection_reasons(tmp_path, reason, fields):
    good = "c" * 40
    records = [_record(**fields), _record(good)]
    doc, report = _convert(tmp_path, records, images=(SHA, good))
    human = "human2" if reason in ("human without box", "box without human") else "human1"
    assert report["rejections"][0] == [SHA, human, reason]
    assert report["rejected_humans_by_reason"][reason] == 1
    assert report["input_humans"] == report["kept_humans"] + report["rejected_humans"]
    assert len(doc["annotations"]) == report["kept_humans"]


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_is_rejected_not_fatal(tmp_path, token):
    good = "c" * 40
    raw = _nan_bytes(token)[:-1] + b"," + orjson.dumps(_record(good)) + b"]"
    doc, report = _convert(tmp_path, None, images=(SHA, good), raw_bytes=raw)
    assert report["rejections"] == [[SHA, "human1", "non-numeric or non-finite value"],
                                    [SHA, None, "no valid human"]]
    assert len(doc["annotations"]) == 1 and not math.isnan(doc["annotations"][0]["bbox"][0])


def test_min_box_area(tmp_path):
    humans = {"human1": _kps(), "human2": _kps()}
    boxes = {"human1": [0, 0, 3, 3], "human2": [0, 0, 20, 20]}
    doc, report = _convert(tmp_path, [_record(humans=humans, boxes=boxes)], min_box_area=10)
    assert report["rejections"] == [[SHA, "human1", "box area below min_box_area"]]
    assert [a["area"] for a in doc["annotations"]] == [400]


IMAGE_REASONS = [
    ("image file missing", lambda tmp: [_record("d" * 40)]),
    ("unreadable image", lambda tmp: [_record("e" * 40)]),
    ("invalid image_id", lambda tmp: [_record("has space")]),
    ("invalid image_id", lambda tmp: [_record(7)]),
    ("file_name with a '..' part", lambda tmp: [_record("../../../../outside/evil")]),
    ("file_name is absolute", lambda tmp: [_record("/outside/evil")]),
    ("file_name with a backslash or NUL", lambda tmp: [_record("..\\outside\\evil")]),
    ("file_name with a backslash or NUL", lambda tmp: [_record("evil\0")]),
    ("record is not an object", lambda tmp: [[1, 2]]),
    ("keypoint_annotations missing or not an object",
     lambda tmp: [{"image_id": SHA, "human_annotations": {"human1": [0, 0, 1, 1]}}]),
    ("human_annotations missing or not an object",
     lambda tmp: [{"image_id": SHA, "keypoint_annotations": {"human1": _kps()},
                   "human_annotations": []}]),
    ("no humans", lambda tmp: [_record(humans={}, boxes={})]),
]


@pytest.mark.parametrize("reason, make", IMAGE_REASONS, ids=[r for r, _ in IMAGE_REASONS])
def test_image_rejection_reasons(tmp_path, reason, make):
    records = make(tmp_path)
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / f"{'e' * 40}.jpg").write_bytes(b"not a jpeg at all")
    doc, report = _convert(tmp_path, records)
    assert report["rejected_images_by_reason"] == {reason: 1}
    assert report["input_images"] == report["kept_images"] + report["rejected_images"]
    assert report["input_humans"] == report["kept_humans"] + report["rejected_humans"]
    assert report["kept_images"] == len(records) - 1 == len(doc["images"])
    rejected_humans = [h for _, h, r in report["rejections"] if r == reason and h]
    assert len(rejected_humans) == report["rejected_humans_by_reason"].get(reason, 0)


def test_invariant_on_a_mixed_file(tmp_path):
    ids = [f"{i:040x}" for i in range(6)]
    records = [
        _record(ids[0]),
        _record(ids[1], humans={"human1": _kps(), "human2": [1]},
                boxes={"human1": [0, 0, 5, 5], "human2": [0, 0, 5, 5], "human3": [0, 0, 1, 1]}),
        _record(ids[2]),  # image missing
        _record(ids[0]),  # duplicate: both records of ids[0] are rejected
        _record(ids[3], humans={"human1": _kps({0: (999, 1, 1)})}),
    ]
    doc, report = _convert(tmp_path, records, images=(ids[0], ids[1], ids[3]))
    assert report["input_humans"] == 1 + 3 + 1 + 1 + 1 == 7
    assert report["kept_humans"] == 1 == len(doc["annotations"])
    assert report["rejected_humans"] == 6
    assert report["input_images"] == 5 and report["kept_images"] == 1
    assert "input_humans 7 == kept 1 + rejected 6" == report["invariant"]
    assert orjson.loads((tmp_path / "report.json").read_bytes())["rejected_humans"] == 6


def test_duplicate_image_id_rejects_every_record_of_it(tmp_path):
    good = "c" * 40
    first = _record(boxes={"human1": [5, 6, 30, 40]})
    second = _record(humans={"human1": _kps(), "human2": _kps()},
                     boxes={"human1": [1, 2, 3, 4], "human2": [0, 0, 9, 9]})
    doc, report = _convert(tmp_path, [first, _record(good), second], images=(SHA, good),
                           image_prefix="aic/train")
    assert [im["aic_id"] for im in doc["images"]] == [good]
    assert report["rejected_images_by_reason"] == {"duplicate image_id": 2}
    assert report["rejected_humans_by_reason"] == {"duplicate image_id": 3}
    assert report["rejections"] == [[SHA, "human1", "duplicate image_id"]] + \
        [[SHA, h, "duplicate image_id"] for h in ("human1", "human2")]
    assert report["rejected_records"][1] == {
        "reason": "duplicate image_id", "image_id": SHA, "file_name": f"aic/train/{SHA}.jpg",
        "annotation_id": f"{SHA}/human1", "bbox": [1, 2, 2, 2],
        "detail": f"image_id {SHA} is in several records"}
    assert report["input_humans"] == report["kept_humans"] + report["rejected_humans"] == 4


def test_rejection_records_carry_file_name_ids_and_box(tmp_path):
    bad_box = _record(humans={"human1": _kps({0: (True, 20, 1)}), "human2": _kps()},
                      boxes={"human1": [5, 6, 30, 40], "human2": [0, 0, float("inf"), 4]})
    _, report = _convert(tmp_path, [bad_box, _record("../evil")], image_prefix="aic/train")
    assert report["rejected_records"] == [
        {"reason": "non-numeric or non-finite value", "image_id": SHA, "file_name": f"aic/train/{SHA}.jpg",
         "annotation_id": f"{SHA}/human1", "bbox": [5, 6, 25, 34], "detail": None},
        {"reason": "non-numeric or non-finite value", "image_id": SHA, "file_name": f"aic/train/{SHA}.jpg",
         "annotation_id": f"{SHA}/human2", "bbox": None, "detail": None},
        {"reason": "no valid human", "image_id": SHA, "file_name": f"aic/train/{SHA}.jpg",
         "annotation_id": None, "bbox": None, "detail": None},
        {"reason": "file_name with a '..' part", "image_id": "../evil", "file_name": "aic/train/../evil.jpg",
         "annotation_id": "../evil/human1", "bbox": [5, 6, 25, 34], "detail": None}]
    assert len(report["rejected_records"]) == len(report["rejections"])


def test_input_must_be_a_list(tmp_path):
    with pytest.raises(ValueError, match="aic_keypoints.schema.json"):
        _convert(tmp_path, {"not": "a list"})


def test_schema_agrees_with_fast_checks_on_good_input(tmp_path):
    records = [_record()]
    validate_document(records, "aic_keypoints", "raw", sample=10)
    bad = [_record(humans={"human1": [0, 0, 3] * 13})]
    with pytest.raises(ValueError):
        validate_document(bad, "aic_keypoints", "raw", sample=10)

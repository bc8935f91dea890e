"""Merge of COCO person keypoints and converted AIC: ids, lineage, rejections, pycocotools."""
import contextlib
import copy
import csv
import io

import cv2
import jsonschema
import numpy as np
import orjson
import pytest

from tasks.annotations.aic_to_coco import convert_aic
from tasks.annotations.merge import merge
from tasks.annotations.validate import load_json
from tasks.common.coco import COCO_KEYPOINTS, COCO_SKELETON
from tasks.common.schema import load_schema

SHA1, SHA2 = "1" * 40, "2" * 40


def _kps(*labeled):
    """17 COCO joints; `labeled` = (joint, x, y, v) tuples."""
    kps = [0] * 51
    for joint, x, y, v in labeled:
        kps[3 * joint: 3 * joint + 3] = [x, y, v]
    return kps


def _ann(ann_id, image_id, kps=None, bbox=(10.5, 12.0, 60.0, 80.0), area=3000.5, crowd=0):
    kps = kps if kps is not None else _kps((0, 30, 30, 2), (5, 40, 50, 1), (11, 45, 70, 2))
    return {"segmentation": [[10.5, 12.0, 70.5, 12.0, 70.5, 92.0]], "num_keypoints":
            sum(1 for v in kps[2::3] if v), "area": area, "iscrowd": crowd, "keypoints": kps,
            "image_id": image_id, "bbox": list(bbox), "category_id": 1, "id": ann_id}


def coco_doc():
    images = [{"license": 1, "file_name": f"{i:012d}.jpg", "height": 120, "width": 100, "id": i,
               "coco_url": f"http://images.cocodataset.org/train2017/{i:012d}.jpg"}
              for i in (785, 10, 42)]
    anns = [_ann(300, 785), _ann(100, 10, kps=_kps((16, 99, 119, 2))),
            _ann(200, 785, kps=[0] * 51),  # person without labeled keypoints: kept
            _ann(150, 42, kps=[0] * 51, crowd=1)]  # crowd box: kept, flagged
    anns[3]["segmentation"] = {"counts": [5, 10, 5], "size": [120, 100]}
    return {"info": {"year": 2017}, "licenses": [], "images": images, "annotations": anns,
            "categories": [{"supercategory": "person", "id": 1, "name": "person",
                            "keypoints": list(COCO_KEYPOINTS),
                            "skeleton": [list(p) for p in COCO_SKELETON]}]}


def _aic_files(tmp_path):
    """A converted AIC file made by convert_aic from two tiny images."""
    images_dir = tmp_path / "aic_images"
    images_dir.mkdir()
    for sha in (SHA1, SHA2):
        cv2.imwrite(str(images_dir / f"{sha}.jpg"), np.zeros((90, 80, 3), np.uint8))
    aic_kps = [0, 0, 3] * 14
    aic_kps[:3] = [20, 30, 1]  # r-shoulder visible
    raw = [{"image_id": SHA2, "keypoint_annotations": {"human1": aic_kps, "human2": aic_kps},
            "human_annotations": {"human1": [5, 5, 50, 60], "human2": [10, 10, 70, 80]}},
           {"image_id": SHA1, "keypoint_annotations": {"human1": aic_kps},
            "human_annotations": {"human1": [0, 0, 80, 90]}}]
    (tmp_path / "aic_raw.json").write_bytes(orjson.dumps(raw))
    out = tmp_path / "aic_coco.json"
    convert_aic(tmp_path / "aic_raw.json", images_dir, out, progress=False)
    return out


def _run(tmp_path, coco=None, name="merged"):
    coco_path = tmp_path / "coco.json"
    coco_path.write_bytes(orjson.dumps(coco if coco is not None else coco_doc()))
    aic = tmp_path / "aic_coco.json"
    if not aic.exists():
        aic = _aic_files(tmp_path)
    out = tmp_path / f"{name}.json"
    report = merge(coco_path, [aic], out, tmp_path / f"{name}.csv", tmp_path / f"{name}.report.json",
                   aic_names=["aic_train"], progress=False)
    return load_json(out), report


def test_ids_order_file_names_and_category(tmp_path):
    merged, report = _run(tmp_path)
    assert [im["id"] for im in merged["images"]] == [1, 2, 3, 4, 5]
    assert [im["file_name"] for im in merged["images"]] == [
        "coco/train2017/000000000010.jpg", "coco/train2017/000000000042.jpg",
        "coco/train2017/000000000785.jpg", f"aic/train/{SHA2}.jpg", f"aic/train/{SHA1}.jpg"]
    anns = merged["annotations"]
    assert [a["id"] for a in anns] == [1, 2, 3, 4, 5, 6, 7]
    # COCO annotations by original id 100, 150, 200, 300 -> images 10, 42, 785, 785
    assert [a["image_id"] for a in anns] == [1, 2, 3, 3, 4, 4, 5]
    assert anns[1]["iscrowd"] == 1 and anns[1]["num_keypoints"] == 0  # crowd kept
    assert anns[2]["num_keypoints"] == 0 and anns[2]["iscrowd"] == 0  # unlabeled person kept
    assert anns[0]["keypoints"][48:51] == [99, 119, 2]
    assert anns[1]["segmentation"] == {"counts": [5, 10, 5], "size": [120, 100]}
    assert all("aic_id" not in r for r in merged["images"] + anns)
    assert merged["categories"] == [{"supercategory": "person", "id": 1, "name": "person",
                                     "keypoints": list(COCO_KEYPOINTS),
                                     "skeleton": [list(p) for p in COCO_SKELETON]}]
    assert report["sources"][0]["image_ids"] == [1, 3]
    assert report["sources"][1]["annotation_ids"] == [5, 7]
    jsonschema.validate(merged, load_schema("coco_keypoints"))


def test_lineage_maps_every_new_id_back(tmp_path):
    merged, _ = _run(tmp_path)
    with open(tmp_path / "merged.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(merged["images"]) + len(merged["annotations"])
    images = [(r["new_id"], r["source"], r["original_id"]) for r in rows if r["kind"] == "image"]
    assert images == [("1", "coco", "10"), ("2", "coco", "42"), ("3", "coco", "785"),
                      ("4", "aic_train", SHA2), ("5", "aic_train", SHA1)]
    anns = [(r["new_id"], r["source"], r["original_id"]) for r in rows
            if r["kind"] == "annotation"]
    assert anns == [("1", "coco", "100"), ("2", "coco", "150"), ("3", "coco", "200"),
                    ("4", "coco", "300"), ("5", "aic_train", f"{SHA2}/human1"),
                    ("6", "aic_train", f"{SHA2}/human2"), ("7", "aic_train", f"{SHA1}/human1")]


def _set(index, field, value, kind="annotations"):
    def mutate(doc):
        doc[kind][index][field] = value
    return mutate


def _set_keypoints(kps):
    def mutate(doc):
        doc["annotations"][0].update(keypoints=kps, num_keypoints=17 - kps[2::3].count(0))
    return mutate


def _drop(index, field, kind="annotations"):
    def mutate(doc):
        del doc[kind][index][field]
    return mutate


def _append(kind, record):
    def mutate(doc):
        doc[kind].append(record)
    return mutate


# (reason, kind, mutation): annotation 0 is id 300 on image 785; image 0 is 785
COCO_REASONS = [
    ("wrong keypoint length", "annotation", _set(0, "keypoints", [0] * 50)),
    ("wrong bbox length", "annotation", _set(0, "bbox", [1, 2, 3])),
    ("non-numeric or non-finite value", "annotation", _set(0, "bbox", [1, 2, "3", 4])),
    ("non-numeric or non-finite value", "annotation", _set(0, "area", None)),
    ("non-numeric or non-finite value", "annotation", _set(0, "area", True)),
    ("non-numeric or non-finite value", "annotation", _set(0, "bbox", [1, 2, True, 4])),
    ("non-numeric or non-finite value", "annotation", _set_keypoints(_kps((3, True, 5, 2)))),
    ("non-numeric or non-finite value", "annotation", _set_keypoints(_kps((3, 5, 5, True)))),
    ("num_keypoints differs from the labeled keypoints", "annotation", _set(0, "num_keypoints", True)),
    ("iscrowd not 0 or 1", "annotation", _set(0, "iscrowd", False)),
    ("category is not person", "annotation", _set(0, "category_id", True)),
    ("annotation id missing or not an integer", "annotation", _set(0, "id", True)),
    ("image_id not among the kept images", "annotation", _set(0, "image_id", True)),
    ("invalid visibility", "annotation", _set(0, "keypoints", _kps((3, 5, 5, 3)))),
    ("num_keypoints differs from the labeled keypoints", "annotation", _set(0, "num_keypoints", 7)),
    ("negative bbox width/height", "annotation", _set(0, "bbox", [10, 10, -1, 5])),
    ("negative area", "annotation", _set(0, "area", -1)),
    ("iscrowd not 0 or 1", "annotation", _set(0, "iscrowd", 2)),
    ("keypoint outside image", "annotation", _set_keypoints(_kps((3, 101, 5, 2)))),
    ("keypoint outside image", "annotation", _set_keypoints(_kps((3, 5, -2, 1)))),
    ("category is not person", "annotation", _set(0, "category_id", 2)),
    ("image_id not among the kept images", "annotation", _set(0, "image_id", 999)),
    ("annotation field bbox missing", "annotation", _drop(0, "bbox")),
    ("annotation id missing or not an integer", "annotation", _set(0, "id", "300")),
    ("annotation record is not an object", "annotation", _append("annotations", [1])),
    ("duplicate annotation id", "annotation", _append("annotations", _ann(100, 10))),
    ("image width/height missing or not a positive integer", "image", _set(1, "width", 0, "images")),
    ("image width/height missing or not a positive integer", "image", _set(1, "height", True, "images")),
    ("image width/height missing or not a positive integer", "image", _set(1, "width", 100.0, "images")),
    ("image id missing or not an integer", "image", _set(1, "id", True, "images")),
    ("file_name with a '..' part", "image", _set(1, "file_name", "../../../../outside/evil.jpg", "images")),
    ("file_name is absolute", "image", _set(1, "file_name", "/outside/evil.jpg", "images")),
    ("file_name with a backslash or NUL", "image", _set(1, "file_name", "..\\outside\\evil.jpg", "images")),
    ("file_name with a backslash or NUL", "image", _set(1, "file_name", "evil.jpg\0", "images")),
    ("file_name outside its image folder", "image", _set(1, "file_name", ".", "images")),
    ("image file_name missing", "image", _drop(1, "file_name", "images")),
    ("image id missing or not an integer", "image", _set(1, "id", 10.0, "images")),
    ("image record is not an object", "image", _append("images", "x")),
]


@pytest.mark.parametrize("reason, kind, mutate", COCO_REASONS,
                         ids=[f"{k}: {r}" for r, k, _ in COCO_REASONS])
def test_coco_rejection_reasons(tmp_path, reason, kind, mutate):
    doc = coco_doc()
    mutate(doc)
    merged, report = _run(tmp_path, copy.deepcopy(doc))
    coco = report["sources"][0]
    assert [r[3] for r in report["rejections"] if r[1] == kind][0] == reason
    assert report["rejections_by_reason"][f"coco {kind}: {reason}"] == 1
    for k in ("images", "annotations"):
        assert coco[f"{k}_in"] == coco[f"{k}_kept"] + coco[f"{k}_rejected"] == len(doc[k])
    assert len(merged["images"]) == coco["images_kept"] + 2
    assert len(merged["annotations"]) == coco["annotations_kept"] + 3
    jsonschema.validate(merged, load_schema("coco_keypoints"))


def test_duplicate_image_id_rejects_every_image_of_it_and_their_annotations(tmp_path):
    doc = coco_doc()  # image 10 (000000000010.jpg) carries annotation 100
    doc["images"].append({"id": 10, "file_name": "other.jpg", "width": 100, "height": 120})
    doc["annotations"].append(_ann(400, 10))
    merged, report = _run(tmp_path, doc)
    assert "coco/train2017/000000000010.jpg" not in [im["file_name"] for im in merged["images"]]
    assert report["rejections_by_reason"] == {"coco image: duplicate image id": 2,
                                              "coco annotation: image_id not among the kept images": 2}
    detail = "image id 10 is carried by 000000000010.jpg, other.jpg"
    assert [(r["kind"], r["original_id"], r["file_name"], r["detail"]) for r in report["rejected_records"]] == [
        ("image", 10, "coco/train2017/000000000010.jpg", detail), ("image", 10, "coco/train2017/other.jpg", detail),
        ("annotation", 100, None, "image 10 rejected: duplicate image id"),
        ("annotation", 400, None, "image 10 rejected: duplicate image id")]
    coco = report["sources"][0]
    assert coco["images_in"] == 4 == coco["images_kept"] + coco["images_rejected"] == 2 + 2
    assert coco["annotations_in"] == 5 == coco["annotations_kept"] + coco["annotations_rejected"] == 3 + 2


def test_rejection_records_carry_file_name_ids_and_box(tmp_path):
    doc = coco_doc()
    doc["images"][1]["file_name"] = "../../../../outside/evil.jpg"  # image 10, annotation 100
    doc["annotations"][0]["bbox"][2] = True  # annotation 300 on image 785
    _, report = _run(tmp_path, doc)
    assert report["rejected_records"] == [
        {"source": "coco", "kind": "image", "original_id": 10, "reason": "file_name with a '..' part",
         "image_id": 10, "file_name": "coco/train2017/../../../../outside/evil.jpg", "annotation_id": None,
         "bbox": None, "detail": None},
        {"source": "coco", "kind": "annotation", "original_id": 300, "reason": "non-numeric or non-finite value",
         "image_id": 785, "file_name": "coco/train2017/000000000785.jpg", "annotation_id": 300, "bbox": None,
         "detail": None},
        {"source": "coco", "kind": "annotation", "original_id": 100, "reason": "image_id not among the kept images",
         "image_id": 10, "file_name": "coco/train2017/../../../../outside/evil.jpg", "annotation_id": 100,
         "bbox": [10.5, 12.0, 60.0, 80.0], "detail": "image 10 rejected: file_name with a '..' part"}]
    assert report["rejections"] == [[r["source"], r["kind"], r["original_id"], r["reason"]]
                                    for r in report["rejected_records"]]


def test_annotations_of_a_rejected_image_are_rejected(tmp_path):
    doc = coco_doc()
    doc["images"][0]["height"] = -5  # image 785 carries annotations 300 and 200
    _, report = _run(tmp_path, doc)
    assert sorted(r[2] for r in report["rejections"] if r[1] == "annotation") == [200, 300]
    assert report["sources"][0]["annotations_kept"] == 2


def test_aic_names_must_be_distinct(tmp_path):
    aic = _aic_files(tmp_path)
    (tmp_path / "coco.json").write_bytes(orjson.dumps(coco_doc()))
    with pytest.raises(ValueError, match="aic_names"):
        merge(tmp_path / "coco.json", [aic, aic], tmp_path / "m.json", tmp_path / "m.csv",
              tmp_path / "r.json", aic_names=["x", "x"], progress=False)


def test_pycocotools_loads_it_and_gt_as_predictions_scores_ap_1(tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    merged, _ = _run(tmp_path)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(tmp_path / "merged.json"))
        assert len(gt.getImgIds()) == 5 and len(gt.getAnnIds()) == 7
        assert gt.loadCats(1)[0]["keypoints"] == list(COCO_KEYPOINTS)
        predictions = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"],
                        "score": 1.0} for a in merged["annotations"]
                       if a["num_keypoints"] > 0 and not a["iscrowd"]]
        dt = gt.loadRes(predictions)
        evaluator = COCOeval(gt, dt, "keypoints")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    assert evaluator.stats[0] == pytest.approx(1.0)

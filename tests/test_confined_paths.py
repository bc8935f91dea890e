"""Image file names stay inside their image folder: the rule (tasks.common.paths), the schema's
pattern that says the same, and every reader that opens an image by a COCO file's file_name."""
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from tasks.common.paths import UnsafeImagePath, confined_image_path, file_name_problem
from tasks.common.schema import load_schema

ROOT = Path(__file__).resolve().parents[1]

NAMES = [
    ("000000000785.jpg", None),
    ("coco/train2017/000000000785.jpg", None),
    ("sub/./a.jpg", None),
    ("a..b.jpg", None),
    ("...", None),
    ("../../../../outside/evil.jpg", "file_name with a '..' part"),
    ("coco/train2017/../../../../outside/evil.jpg", "file_name with a '..' part"),
    ("a/..", "file_name with a '..' part"),
    ("/etc/evil.jpg", "file_name is absolute"),
    ("//server/evil.jpg", "file_name is absolute"),
    ("..\\..\\evil.jpg", "file_name with a backslash or NUL"),
    ("evil.jpg\0.png", "file_name with a backslash or NUL"),
    (".", "file_name outside its image folder"),
    ("./.", "file_name outside its image folder"),
    ("", "file_name missing"),
    (7, "file_name missing"),
]


@pytest.mark.parametrize("name, reason", NAMES, ids=[repr(n) for n, _ in NAMES])
def test_rule_and_schema_pattern_agree(name, reason):
    assert file_name_problem(name) == reason
    if isinstance(name, str) and name:
        pattern = load_schema("coco_keypoints")["$defs"]["image"]["properties"]["file_name"]["pattern"]
        assert (re.search(pattern, name) is not None) == (reason is None)


def test_error_names_the_file_the_record_and_the_path():
    with pytest.raises(UnsafeImagePath, match=r"val\.json: image id 7: file_name with a '\.\.' part: "
                                              r"'\.\./outside/evil\.jpg'"):
        confined_image_path("data/coco/val2017", "../outside/evil.jpg", ann_file="val.json", image_id=7)
    assert confined_image_path("data/coco/val2017", "sub/a.jpg", ann_file="val.json", image_id=7) == \
        "data/coco/val2017/sub/a.jpg"


def test_a_linked_image_folder_is_legitimate(tmp_path):
    """data_root/coco/val2017 is a link into extracted/...: where it leads is not judged."""
    target = tmp_path / "extracted" / "val2017"
    target.mkdir(parents=True)
    (tmp_path / "data" / "coco").mkdir(parents=True)
    (tmp_path / "data" / "coco" / "val2017").symlink_to(target, target_is_directory=True)
    cv2.imwrite(str(target / "1.png"), np.zeros((4, 4, 3), np.uint8))
    path = confined_image_path(tmp_path / "data" / "coco" / "val2017", "1.png", ann_file="a.json", image_id=1)
    assert cv2.imread(path).shape == (4, 4, 3)


# ---- readers: a val file whose person image lies outside the image folder, reached by '..' or
# an absolute path; the picture exists, so a reader that does not check would read it.

@pytest.fixture(params=["dotdot", "absolute"])
def unsafe_val(request, tmp_path):
    """(val annotation file, image root): one image with a person, its file_name leading outside."""
    image_root = tmp_path / "data" / "coco" / "val2017"
    image_root.mkdir(parents=True)
    outside = tmp_path / "outside" / "evil.png"
    outside.parent.mkdir()
    cv2.imwrite(str(outside), np.full((120, 160, 3), 127, np.uint8))
    file_name = "../../../outside/evil.png" if request.param == "dotdot" else str(outside)
    keypoints = [0] * 51
    keypoints[15:18] = [60, 40, 2]  # left shoulder
    val = {"images": [{"id": 5, "file_name": file_name, "width": 160, "height": 120}],
           "annotations": [{"id": 1, "image_id": 5, "category_id": 1, "iscrowd": 0, "bbox": [40, 20, 50, 80],
                            "area": 4000, "keypoints": keypoints, "num_keypoints": 1}],
           "categories": [{"id": 1, "name": "person", "keypoints": [], "skeleton": []}]}
    ann = tmp_path / "val.json"
    ann.write_text(json.dumps(val))
    return ann, image_root


def _refused(ann):
    return pytest.raises(UnsafeImagePath, match=rf"{re.escape(str(ann))}: image id 5: file_name ")


def test_keypoint_dataset_refuses(unsafe_val):
    from tasks.keypoint.dataset import load_person_records
    ann, image_root = unsafe_val
    with _refused(ann):
        load_person_records(ann, image_root, (96, 128))


def test_detector_dataset_refuses(unsafe_val):
    from tasks.detection.dataset import load_detection_records
    ann, image_root = unsafe_val
    with _refused(ann):
        load_detection_records(ann, image_root)


def test_keypoint_evaluation_refuses(unsafe_val, tmp_path):
    from tasks.keypoint.config import load_config
    from tasks.keypoint.evaluate import evaluate
    ann, image_root = unsafe_val
    with _refused(ann):
        evaluate(load_config(ROOT / "configs" / "tinypose_128x96_sample.yml"), tmp_path / "no.pdparams", ann,
                 image_root, tmp_path / "eval", progress=False)
    assert not (tmp_path / "eval").exists()


def test_detector_evaluation_refuses(unsafe_val, tmp_path):
    from tasks.detection.config import load_config
    from tasks.detection.evaluate import evaluate
    ann, image_root = unsafe_val
    with _refused(ann):
        evaluate(load_config(ROOT / "configs" / "picodet_s_192_pedestrian.yml"), tmp_path / "no.pdparams", ann,
                 image_root, tmp_path / "eval", progress=False)
    assert not (tmp_path / "eval" / "metrics.json").exists()


def test_pipeline_evaluation_refuses_before_loading_a_model(unsafe_val, tmp_path):
    from tasks.evaluation.joint_pipeline import evaluate_pipeline
    ann, image_root = unsafe_val
    with _refused(ann):
        evaluate_pipeline(tmp_path / "no_det", tmp_path / "no_keypoint", ann, image_root, tmp_path / "out")


def test_mobile_bundle_demo_image_refuses(unsafe_val):
    from tasks.export.check_inputs import first_image_with_persons
    ann, image_root = unsafe_val
    with _refused(ann):
        first_image_with_persons(ann, image_root)

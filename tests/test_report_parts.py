"""The report's parts on small generated data: the error taxonomy and per-joint AP, image
paths confined to the image folders, rejection tiles of malformed records, the thumbnail cache."""
import os

import cv2
import numpy as np
import pytest

from tasks.common.coco import COCO_KEYPOINTS, NUM_JOINTS
from tasks.report.error_analysis import OPPOSITE, analyse
from tasks.report.images import ImageFolders
from tasks.report.rejections import RecordIndex, image_check_tiles, merge_tiles, reason_groups
from tasks.report.thumbnails import Thumbnails

LEFT_WRIST, RIGHT_WRIST = COCO_KEYPOINTS.index("left_wrist"), COCO_KEYPOINTS.index("right_wrist")


def person(ann_id, image_id, x0):
    """A labeled person standing at x0: joints spread over a 100 x 200 box."""
    points = [[x0 + 10 + 80 * (j % 2), 10 + 11 * j, 2] for j in range(NUM_JOINTS)]
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": 0, "num_keypoints": NUM_JOINTS,
            "bbox": [x0, 0, 100, 200], "area": 20000.0, "keypoints": [v for p in points for v in p]}


def ground_truth():
    annotations = [person(1, 1, 0), person(2, 1, 300), person(3, 2, 0)]
    return {"images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480},
                       {"id": 2, "file_name": "b.jpg", "width": 640, "height": 480}],
            "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}


def prediction(annotation, moves=None):
    """A COCO result equal to `annotation`'s keypoints, with joints moved: {joint: (x, y)}."""
    points = np.reshape(annotation["keypoints"], (NUM_JOINTS, 3)).astype(float)
    points[:, 2] = 0.9
    for joint, xy in (moves or {}).items():
        points[joint, :2] = xy
    return {"image_id": annotation["image_id"], "category_id": 1, "keypoints": points.ravel().tolist(), "score": 0.9}


def joint_xy(annotation, joint):
    return annotation["keypoints"][3 * joint:3 * joint + 2]


def test_opposite_joints_pair_left_and_right():
    assert OPPOSITE[COCO_KEYPOINTS.index("nose")] is None
    assert OPPOSITE[LEFT_WRIST] == RIGHT_WRIST and OPPOSITE[RIGHT_WRIST] == LEFT_WRIST


def test_perfect_predictions_are_good_with_ap_one():
    gt = ground_truth()
    result = analyse(gt, [prediction(a) for a in gt["annotations"]])
    assert result["matched"] == 3 and result["unmatched_predictions"] == 0 and result["unmatched_persons"] == 0
    assert all(row["AP"] == 1.0 and row["good"] == 3 for row in result["per_joint"])
    assert result["totals"] == {"good": 3 * NUM_JOINTS, "jitter": 0, "inversion": 0, "swap": 0, "miss": 0}


def test_each_error_type_is_counted_on_its_joint():
    gt = ground_truth()
    first, second, alone = gt["annotations"]
    x, y = joint_xy(second, LEFT_WRIST)
    moved = {LEFT_WRIST: joint_xy(first, RIGHT_WRIST),            # inversion: the other side of the same person
             RIGHT_WRIST: joint_xy(second, RIGHT_WRIST)}           # swap: the same joint of the other person
    predictions = [prediction(first, moved), prediction(second, {LEFT_WRIST: (x + 12, y + 9)}),   # jitter: ks 0.69
                   prediction(alone, {RIGHT_WRIST: (600, 470)})]   # miss
    rows = {row["joint"]: row for row in analyse(gt, predictions)["per_joint"]}
    assert rows["left_wrist"] == {**rows["left_wrist"], "good": 1, "jitter": 1, "inversion": 1, "swap": 0, "miss": 0}
    assert rows["right_wrist"] == {**rows["right_wrist"], "good": 1, "jitter": 0, "inversion": 0, "swap": 1, "miss": 1}
    assert all(row["good"] == 3 for name, row in rows.items() if name not in ("left_wrist", "right_wrist"))


def test_ap_per_joint_drops_only_for_the_moved_joint():
    gt = ground_truth()
    predictions = [prediction(a, {LEFT_WRIST: (600, 470)}) for a in gt["annotations"]]
    result = analyse(gt, predictions)
    ap = {row["joint"]: row["AP"] for row in result["per_joint"]}
    assert ap.pop("left_wrist") == 0.0
    assert set(ap.values()) == {1.0}
    worst = result["worst"]["miss"]
    assert {case["joint"] for case in worst} == {"left_wrist"} and len(worst) == 3


def test_analysis_is_restricted_to_the_given_images():
    gt = ground_truth()
    result = analyse(gt, [prediction(a) for a in gt["annotations"]], image_ids=[2])
    assert result["images"] == 1 and result["matched"] == 1


def write_jpeg(path, width=64, height=48):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((height, width, 3), 128, np.uint8))
    return path


@pytest.fixture
def data_root(tmp_path):
    """A data root whose coco/train2017 links to an extracted folder, as the extract node leaves it."""
    root = tmp_path / "data"
    extracted = root / "extracted" / "coco" / "train2017" / "train2017"
    write_jpeg(extracted / "good.jpg")
    (extracted / "empty.jpg").write_bytes(b"")
    write_jpeg(tmp_path / "outside.jpg")
    os.symlink(tmp_path / "outside.jpg", extracted / "link_out.jpg")
    (root / "coco").mkdir()
    os.symlink(extracted, root / "coco" / "train2017")
    return root


def test_image_paths_stay_inside_the_image_folders(data_root, tmp_path):
    folders = ImageFolders(data_root)
    assert folders.locate("coco/train2017/good.jpg") == ("coco/train2017/good.jpg", None)
    assert folders.locate("coco/train2017/empty.jpg") == (None, "empty image file")
    assert folders.locate("coco/train2017/missing.jpg") == (None, "image file missing")
    for escaping in ("coco/train2017/../../../outside.jpg", str(tmp_path / "outside.jpg"),
                     "coco/train2017/link_out.jpg", "downloads/x.jpg"):
        assert folders.locate(escaping)[0] is None, escaping
    assert folders.locate(None) == (None, "no usable file name")


def test_image_check_rejections_get_pictures_or_placeholders(data_root, tmp_path):
    folders = ImageFolders(data_root)
    thumbnails = Thumbnails(folders)
    entries = [{"file_name": "coco/train2017/good.jpg", "image_id": 1, "reason": "cannot decode",
                "annotations": [{"bbox": [4, 4, 20, 20]}], "detail": "test"},
               {"file_name": "coco/train2017/empty.jpg", "image_id": 2, "reason": "empty file", "annotations": 1},
               {"file_name": "../../outside.jpg", "image_id": 3, "reason": "outside", "annotations": []},
               "not a record"]
    tiles = image_check_tiles(entries, thumbnails, folders)
    assert [tile["caption"].split(" · ")[-1] for tile in tiles[1:]] == [
        "empty image file", "outside the image folders", "no usable file name"]
    specs = [thumbnails.specs[tile["thumb"].split("/")[1]] for tile in tiles]
    assert specs[0]["image"] == "coco/train2017/good.jpg" and specs[0]["boxes"] == [[4.0, 4.0, 24.0, 24.0]]
    assert all(spec["image"] is None for spec in specs[1:])
    assert thumbnails.render(tmp_path / "thumbs", workers=1) == {"reused": 0, "rendered": 4}
    sizes = {cv2.imread(str(tmp_path / tile["thumb"])).shape for tile in tiles}
    assert sizes == {(192, 256, 3), (192, 192, 3)}   # the picture (64 x 48 scaled) and the placeholders


def test_malformed_merge_records_are_drawn_without_their_bad_values(data_root, tmp_path):
    doc = {"images": [{"id": 7, "file_name": "good.jpg"}],
           "annotations": [{"id": 1, "image_id": 7, "bbox": ["1", 2, 3, 4]},
                           {"id": 2, "image_id": 7, "bbox": [1, 2, float("nan"), 4], "keypoints": [True] * 51},
                           {"id": 3, "image_id": 99, "bbox": [1, 2, 3, 4]}]}
    folders, thumbnails = ImageFolders(data_root), Thumbnails(ImageFolders(data_root))
    index = RecordIndex(doc, "coco/train2017/")
    entries = [["coco", "annotation", 1, "non-numeric value"], ["coco", "annotation", 2, "non-finite value"],
               ["coco", "annotation", 3, "image_id not among the kept images"], ["coco", "image", "#0", "x"],
               ["coco", "annotation", [1], "unhashable id"]]
    tiles = merge_tiles(entries, index, thumbnails, folders)
    specs = [thumbnails.specs[tile["thumb"].split("/")[1]] for tile in tiles]
    assert [spec["image"] for spec in specs] == ["coco/train2017/good.jpg"] * 2 + [None] + \
        ["coco/train2017/good.jpg", None]
    assert specs[0]["boxes"] == [] and specs[1]["boxes"] == [] and specs[1]["pose"] is None
    assert thumbnails.render(tmp_path / "thumbs", workers=1)["rendered"] == len(set(t["thumb"] for t in tiles))
    assert merge_tiles(entries[:1], None, thumbnails, folders)[0]["caption"].endswith("input file not found")


def test_reasons_are_grouped_by_text_with_counts():
    groups = reason_groups([("b", 1), ("a", 2), ("b", 3), (None, 4)], thumbnails_per_reason=1)
    assert groups == [("b", 2, [1]), ("None", 1, [4]), ("a", 1, [2])]


def test_thumbnails_are_reused_by_content(data_root, tmp_path):
    folders = ImageFolders(data_root)
    spec = {"kind": "poses", "image": "coco/train2017/good.jpg", "why": None, "boxes": [[1, 1, 30, 30]],
            "poses": []}
    first = Thumbnails(folders)
    name = first.add(spec)
    assert first.render(tmp_path / "one", workers=1) == {"reused": 0, "rendered": 1}
    second = Thumbnails(folders)
    assert second.add(dict(spec)) == name
    assert second.add({**spec, "boxes": [[2, 2, 30, 30]]}) != name
    assert second.render(tmp_path / "two", previous_dir=tmp_path / "one", workers=1) == {"reused": 1, "rendered": 1}
    assert (tmp_path / "two" / name.split("/")[1]).read_bytes() == (tmp_path / "one" / name.split("/")[1]).read_bytes()

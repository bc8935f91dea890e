"""Person records are packed in numpy columns (tasks.common.packed_records), not a list of dicts."""
import json

import numpy as np
import pytest

from tasks.common.packed_records import Lookup, PackedRecords, Ragged, Strings
from tasks.keypoint.dataset import load_person_records


def _keypoints(n_labelled):
    return [v for i in range(17) for v in ((10 + i, 20 + i, 2) if i < n_labelled else (0, 0, 0))]


def _write(tmp_path, annotations, images=None):
    images = images or [dict(id=5, file_name="b/x.jpg", width=100, height=80),
                        dict(id=2, file_name="a/ü.jpg", width=100, height=80)]
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(dict(images=images, annotations=annotations, categories=[])))
    return path


def _ann(ann_id, image_id, bbox=(10, 10, 30, 40), n_labelled=17, iscrowd=0):
    return dict(id=ann_id, image_id=image_id, bbox=list(bbox), area=100, iscrowd=iscrowd,
                num_keypoints=n_labelled, keypoints=_keypoints(n_labelled))


def test_records_follow_the_image_order_and_read_back_as_fresh_dicts(tmp_path):
    path = _write(tmp_path, [_ann(1, 2), _ann(2, 5, bbox=(-5, 70, 20, 30)), _ann(3, 2, n_labelled=0),
                             _ann(4, 5, iscrowd=1), _ann(5, 5, bbox=(200, 0, 5, 5)), _ann(6, 2)])
    records, stats = load_person_records(path, tmp_path / "root", (96, 128))
    assert isinstance(records, PackedRecords) and len(records) == 3
    assert stats == dict(persons=6, kept=3, crowd=1, no_keypoints=1, invalid_box=1)
    assert [r["ann_id"] for r in records] == [2, 1, 6]  # image 5 is listed first
    first = records[0]
    assert first["image_file"] == str(tmp_path / "root" / "b" / "x.jpg") and first["image_id"] == 5
    assert records[1]["image_file"].endswith("ü.jpg")
    # (-5, 70, 20, 30) in 100x80: x1 = 0, x2 = min(99, 0 + 19) = 19, y2 = min(79, 70 + 29) = 79.
    np.testing.assert_array_equal(first["bbox"], np.float32([0, 70, 19, 9]))
    assert first["keypoints"].shape == (17, 2) and first["keypoints"].dtype == np.float32
    np.testing.assert_array_equal(first["keypoints_visible"], np.ones(17, np.float32))
    assert type(first["score"]) is float and type(first["ann_id"]) is int
    first["keypoints"][:] = -1
    assert records[0]["keypoints"].min() >= 10  # the store is untouched


def test_bad_annotations_are_named(tmp_path):
    bad = _ann(7, 2)
    bad["keypoints"] = bad["keypoints"][:-3]
    with pytest.raises(ValueError, match=r"annotation 7 keypoints has 48 values, expected 51"):
        load_person_records(_write(tmp_path, [_ann(1, 2), bad]), tmp_path, (96, 128))
    with pytest.raises(ValueError, match=r"annotation 8 is on image id 9, which the file's images lack"):
        load_person_records(_write(tmp_path, [_ann(8, 9)]), tmp_path, (96, 128))


def test_packed_columns():
    strings = Strings.from_list(["a", "", "ßz"])
    assert [strings[i] for i in range(3)] == ["a", "", "ßz"] and len(strings) == 3
    ragged = Ragged.from_counts(np.arange(10).reshape(5, 2), [2, 0, 3])
    assert ragged[1].shape == (0, 2) and ragged[2].tolist() == [[4, 5], [6, 7], [8, 9]]
    records = PackedRecords(name=Lookup(strings, [2, 0]), box=np.zeros((2, 4)), boxes=Ragged.from_counts(
        np.ones((3, 4)), [1, 2]))
    assert records[1]["name"] == "a" and records[-1]["boxes"].shape == (2, 4)
    assert records.nbytes == strings.nbytes + 2 * 8 + 2 * 4 * 8 + 3 * 4 * 8 + 3 * 8
    with pytest.raises(IndexError):
        records[2]
    with pytest.raises(ValueError, match="different lengths"):
        PackedRecords(a=np.zeros(2), b=np.zeros(3))

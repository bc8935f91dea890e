"""Top-down COCO keypoint dataset (one sample per person box) and its loader.

Persons follow PaddleDetection's ``KeypointTopDownCocoDataset``: not crowd,
box clipped to the image (inclusive "-1" convention) and non-empty, area > 0,
and at least one labelled keypoint (``num_keypoints > 0``); box -> center/scale
with pixel_std 200, the input's aspect ratio and x1.25 padding. The same
records serve training and ground-truth-box evaluation; every person that is
left out is counted in ``dataset.stats``.
"""
import logging
from pathlib import Path

import numpy as np
import orjson
import paddle

from tasks.annotations.validate import gc_paused
from tasks.common.coco import PERSON_ID
from tasks.common.packed_records import Lookup, PackedRecords, field_column, fixed_rows, image_files, read_coco

from .geometry import BOX_PADDING, PIXEL_STD, boxes_to_centers_scales, clip_boxes_xywh

log = logging.getLogger(__name__)


def _persons(files, image_index, image_id, ann_id, boxes, keypoints, visible, score, input_size,
             pixel_std, padding):
    """The packed person records: one row per person, the image file looked up by `image_index`."""
    centers, scales = boxes_to_centers_scales(boxes, input_size, pixel_std, padding)
    return PackedRecords(
        image_file=Lookup(files, image_index.astype(np.int32)), image_id=image_id, ann_id=ann_id,
        bbox=boxes.astype(np.float32), center=centers, scale=scales, keypoints=keypoints,
        keypoints_visible=visible, score=score)


@gc_paused()  # millions of parsed containers, no cycles: the collector would only walk them
def load_person_records(ann_file, image_root, input_size, num_joints=17,
                        pixel_std=PIXEL_STD, padding=BOX_PADDING):
    """COCO keypoint JSON -> (records, stats). One record per usable person, packed
    (``tasks.common.packed_records``), ordered by image as the file lists them.

    Record: image_file, image_id, ann_id, bbox (clipped xywh), center [2],
    scale [2], keypoints [K, 2], keypoints_visible [K] (min(v, 1)), score 1.0.
    stats counts ``persons`` = ``kept`` + ``crowd`` + ``no_keypoints`` +
    ``invalid_box``.
    """
    ann_file = Path(ann_file)
    images, anns, image_ids, owner = read_coco(ann_file)
    order = np.argsort(owner, kind="stable")  # by image, then in file order, as the images list them
    owner = owner[order]
    anns = [anns[i] for i in order]

    crowd = field_column(anns, "iscrowd", bool, 0)
    boxes, inside = clip_boxes_xywh(fixed_rows([ann["bbox"][:4] for ann in anns], 4, np.float64,
                                          lambda i: f"{ann_file}: annotation {anns[i]['id']} bbox"),
                                    field_column(images, "width", np.float64)[owner],
                                    field_column(images, "height", np.float64)[owner])
    invalid = ~crowd & (~inside | (field_column(anns, "area", np.float64, 0) <= 0))
    no_keypoints = ~crowd & ~invalid & (field_column(anns, "num_keypoints", np.float64, 0) <= 0)
    kept = np.flatnonzero(~(crowd | invalid | no_keypoints))
    keypoints = fixed_rows([anns[i]["keypoints"] for i in kept], 3 * num_joints, np.float32,
                      lambda j: f"{ann_file}: annotation {anns[kept[j]]['id']} keypoints").reshape(-1, num_joints, 3)
    records = _persons(
        image_files(images, image_root, ann_file), owner[kept], image_ids[owner[kept]],
        np.fromiter((anns[i]["id"] for i in kept), dtype=np.int64, count=len(kept)), boxes[kept],
        np.ascontiguousarray(keypoints[..., :2]), np.minimum(keypoints[..., 2], 1.0),
        np.ones(len(kept), np.float32), input_size, pixel_std, padding)
    stats = dict(persons=len(anns), kept=len(kept), crowd=int(crowd.sum()), no_keypoints=int(no_keypoints.sum()),
                 invalid_box=int(invalid.sum()))
    return records, stats


@gc_paused()
def load_detected_person_records(bbox_file, ann_file, image_root, input_size, num_joints=17,
                                 score_threshold=0.0, pixel_std=PIXEL_STD, padding=BOX_PADDING):
    """COCO detection results (person, category 1, score >= threshold) -> packed records
    with zero keypoints (all marked visible, as PaddleDetection does) and ann_id -1."""
    images = orjson.loads(Path(ann_file).read_bytes())["images"]
    position = {img["id"]: i for i, img in enumerate(images)}
    detections = orjson.loads(Path(bbox_file).read_bytes())
    people = [det for det in detections if det["category_id"] == PERSON_ID]
    kept = [det for det in people if det["score"] >= score_threshold]
    for det in kept:
        if det["image_id"] not in position:
            raise ValueError(f"{bbox_file}: detection on image id {det['image_id']} that {ann_file} lacks")
    count = len(kept)
    records = _persons(
        image_files(images, image_root, ann_file), np.array([position[det["image_id"]] for det in kept], np.int64),
        field_column(kept, "image_id", np.int64), np.full(count, -1, np.int64),
        fixed_rows([det["bbox"][:4] for det in kept], 4, np.float64, lambda i: f"{bbox_file}: detection {i} bbox"),
        np.zeros((count, num_joints, 2), np.float32), np.ones((count, num_joints), np.float32),
        field_column(kept, "score", np.float32), input_size, pixel_std, padding)
    stats = dict(persons=len(detections), kept=count, other_category=len(detections) - len(people),
                 low_score=len(people) - count)
    return records, stats


class TopDownCocoDataset(paddle.io.Dataset):
    """One sample per person: ``transforms(results)`` of a fresh copy of its record.

    The records are packed (``tasks.common.packed_records``): loader workers forked
    from this process share them without copying.

    Args:
        ann_file: COCO keypoint JSON (file_name relative to ``image_root``).
        image_root: folder the file names are relative to.
        input_size: (w, h) of the network input, e.g. (96, 128).
        transforms: callable results -> dict of arrays (``tasks.keypoint.builders.build_transforms``).
        use_gt_bbox: True for ground-truth person boxes; False reads ``bbox_file``
            (COCO detection results) and keeps boxes with score >= ``det_score_threshold``.
        seed: None draws fresh OS entropy per sample; an int makes sample ``i`` of
            epoch ``e`` reproducible, whatever worker runs it
            (generator ``default_rng([seed, e, i])``, see ``set_epoch``).
    """

    def __init__(self, ann_file, image_root, input_size, transforms, use_gt_bbox=True,
                 bbox_file=None, det_score_threshold=0.0, num_joints=17, pixel_std=PIXEL_STD,
                 padding=BOX_PADDING, seed=None):
        super().__init__()
        self.ann_file = str(ann_file)
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.transforms = transforms
        self.seed = seed
        self.epoch = 0
        if use_gt_bbox:
            self.records, self.stats = load_person_records(
                ann_file, image_root, self.input_size, num_joints, pixel_std, padding)
        else:
            if bbox_file is None:
                raise ValueError("use_gt_bbox=False needs bbox_file (COCO detection results JSON)")
            self.records, self.stats = load_detected_person_records(
                bbox_file, ann_file, image_root, self.input_size, num_joints,
                det_score_threshold, pixel_std, padding)
        log.info("%s: %s", ann_file, ", ".join(f"{k} {v}" for k, v in self.stats.items()))

    def set_epoch(self, epoch):
        """Select the random streams of ``epoch`` (only matters with a seed)."""
        self.epoch = int(epoch)

    def __len__(self):
        return len(self.records)

    def __getitem__(self, index):
        results = self.records[index]  # a fresh dict of fresh arrays: transforms may modify it
        results["rng"] = (np.random.default_rng() if self.seed is None
                          else np.random.default_rng([self.seed, self.epoch, index]))
        return self.transforms(results)

"""Top-down COCO keypoint dataset (one sample per person box) and its loader.

Persons follow PaddleDetection's ``KeypointTopDownCocoDataset``: not crowd,
box clipped to the image (inclusive "-1" convention) and non-empty, area > 0,
and at least one labelled keypoint (``num_keypoints > 0``); box -> center/scale
with pixel_std 200, the input's aspect ratio and x1.25 padding. The same
records serve training and ground-truth-box evaluation; every person that is
left out is counted in ``dataset.stats``.
"""
import logging
import os
from pathlib import Path

import cv2
import numpy as np
import orjson
import paddle

from tasks.annotations.coco import PERSON_ID

from .codecs import DarkHeatmap
from .geometry import (BOX_PADDING, COCO_FLIP_PAIRS, COCO_UPPER_BODY_IDS, PIXEL_STD, box_to_center_scale,
                       clip_box_xywh)
from .transforms import (IMAGENET_MEAN, IMAGENET_STD, Compose, GenerateTarget, InformationDropping,
                         LoadImage, NormalizeImage, PackInputs, Permute, RandomFlipHalfBody, TopDownAffine)

log = logging.getLogger(__name__)

TRAIN_KEYS = ("image", "target", "target_weight")
EVAL_KEYS = ("image", "center", "scale", "image_id", "ann_id", "score")


def build_train_transforms(input_size, heatmap_size, sigma, codec_cls=DarkHeatmap, *,
                           scale_factor=0.25, rot_factor=30.0, rot_prob=0.6, prob_half_body=0.3,
                           num_joints_half_body=8, flip_prob=0.5, flip_pairs=COCO_FLIP_PAIRS,
                           upper_body_ids=COCO_UPPER_BODY_IDS, prob_cutout=0.5, offset_factor=0.05,
                           num_patch=1, pixel_std=PIXEL_STD, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                           load=True, keys=TRAIN_KEYS):
    """PP-TinyPose's TrainReader (defaults are its numbers) -> ``Compose``.

    ``load=False`` leaves out ``LoadImage`` (for a sample that already holds its image).
    ``tasks.keypoint.builders.build_train_transforms`` fills these from a config.
    """
    codec = codec_cls(input_size, heatmap_size, sigma)
    steps = [LoadImage()] if load else []
    steps += [
        RandomFlipHalfBody(input_size, scale_factor=scale_factor, rot_factor=rot_factor,
                           rot_prob=rot_prob, prob_half_body=prob_half_body,
                           num_joints_half_body=num_joints_half_body, flip_prob=flip_prob,
                           flip_pairs=flip_pairs, upper_body_ids=upper_body_ids, pixel_std=pixel_std),
        InformationDropping(input_size, prob_cutout=prob_cutout, offset_factor=offset_factor,
                            num_patch=num_patch),
        TopDownAffine(input_size, pixel_std=pixel_std),
        GenerateTarget(codec),
        NormalizeImage(mean, std),
        Permute(),
        PackInputs(keys),
    ]
    return Compose(steps)


def build_eval_transforms(input_size, keys=EVAL_KEYS, *, pixel_std=PIXEL_STD, mean=IMAGENET_MEAN,
                          std=IMAGENET_STD):
    """Crop with UDP, normalise, CHW: what evaluation feeds the network."""
    return Compose([LoadImage(), TopDownAffine(input_size, pixel_std=pixel_std), NormalizeImage(mean, std),
                    Permute(), PackInputs(keys)])


def load_person_records(ann_file, image_root, input_size, num_joints=17,
                        pixel_std=PIXEL_STD, padding=BOX_PADDING):
    """COCO keypoint JSON -> (records, stats). One record per usable person.

    Record: image_file, image_id, ann_id, bbox (clipped xywh), center [2],
    scale [2], keypoints [K, 2], keypoints_visible [K] (min(v, 1)), score 1.0.
    stats counts ``persons`` = ``kept`` + ``crowd`` + ``no_keypoints`` +
    ``invalid_box``.
    """
    ann_file = Path(ann_file)
    coco = orjson.loads(ann_file.read_bytes())
    images = {img["id"]: img for img in coco["images"]}
    by_image = {}
    for ann in coco["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    stats = dict(persons=0, kept=0, crowd=0, no_keypoints=0, invalid_box=0)
    records = []
    for image_id, img in images.items():
        for ann in by_image.get(image_id, ()):
            stats["persons"] += 1
            if ann.get("iscrowd", 0):
                stats["crowd"] += 1
                continue
            box = clip_box_xywh(ann["bbox"], img["width"], img["height"])
            if box is None or ann.get("area", 0) <= 0:
                stats["invalid_box"] += 1
                continue
            if ann.get("num_keypoints", 0) <= 0:
                stats["no_keypoints"] += 1
                continue
            kpts = np.asarray(ann["keypoints"], dtype=np.float32).reshape(-1, 3)
            if kpts.shape[0] != num_joints:
                raise ValueError(f"{ann_file}: annotation {ann['id']} has {kpts.shape[0]} keypoints, "
                                 f"expected {num_joints}")
            center, scale = box_to_center_scale(box, input_size, pixel_std, padding)
            records.append(dict(
                image_file=str(Path(image_root) / img["file_name"]), image_id=image_id,
                ann_id=ann["id"], bbox=np.asarray(box, dtype=np.float32), center=center, scale=scale,
                keypoints=kpts[:, :2].copy(), keypoints_visible=np.minimum(kpts[:, 2], 1.0),
                score=1.0))
            stats["kept"] += 1
    return records, stats


def load_detection_records(bbox_file, ann_file, image_root, input_size, num_joints=17,
                           score_threshold=0.0, pixel_std=PIXEL_STD, padding=BOX_PADDING):
    """COCO detection results (person, category 1, score >= threshold) -> records
    with zero keypoints (all marked visible, as PaddleDetection does) and ann_id -1."""
    images = {img["id"]: img for img in orjson.loads(Path(ann_file).read_bytes())["images"]}
    detections = orjson.loads(Path(bbox_file).read_bytes())
    stats = dict(persons=len(detections), kept=0, other_category=0, low_score=0)
    records = []
    for det in detections:
        if det["category_id"] != PERSON_ID:
            stats["other_category"] += 1
            continue
        if det["score"] < score_threshold:
            stats["low_score"] += 1
            continue
        if det["image_id"] not in images:
            raise ValueError(f"{bbox_file}: detection on image id {det['image_id']} that {ann_file} lacks")
        center, scale = box_to_center_scale(det["bbox"], input_size, pixel_std, padding)
        records.append(dict(
            image_file=str(Path(image_root) / images[det["image_id"]]["file_name"]),
            image_id=det["image_id"], ann_id=-1, bbox=np.asarray(det["bbox"], dtype=np.float32),
            center=center, scale=scale, keypoints=np.zeros((num_joints, 2), np.float32),
            keypoints_visible=np.ones(num_joints, np.float32), score=float(det["score"])))
        stats["kept"] += 1
    return records, stats


class TopDownCocoDataset(paddle.io.Dataset):
    """One sample per person: ``transforms(results)`` of a fresh copy of its record.

    Args:
        ann_file: COCO keypoint JSON (file_name relative to ``image_root``).
        image_root: folder the file names are relative to.
        input_size: (w, h) of the network input, e.g. (96, 128).
        transforms: callable results -> dict of arrays (``build_train_transforms`` /
            ``build_eval_transforms``).
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
            self.records, self.stats = load_detection_records(
                bbox_file, ann_file, image_root, self.input_size, num_joints,
                det_score_threshold, pixel_std, padding)
        log.info("%s: %s", ann_file, ", ".join(f"{k} {v}" for k, v in self.stats.items()))

    def set_epoch(self, epoch):
        """Select the random streams of ``epoch`` (only matters with a seed)."""
        self.epoch = int(epoch)

    def __len__(self):
        return len(self.records)

    def __getitem__(self, index):
        record = self.records[index]
        results = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in record.items()}
        results["rng"] = (np.random.default_rng() if self.seed is None
                          else np.random.default_rng([self.seed, self.epoch, index]))
        return self.transforms(results)


def release_cv2_threads():
    """Shut down cv2's thread pool in this process before worker processes fork.

    A process that forks after cv2 ran multi-threaded (any warpAffine or blur
    on a large image) gives children whose first cv2 call hangs forever (seen
    here with opencv 5.0 and paddle's fork-based DataLoader workers). Call it
    before creating any multi-worker loader; ``build_dataloader`` does.
    """
    cv2.setNumThreads(1)


def single_threaded_worker(worker_id):
    # Each loader process decodes and warps one sample at a time: cv2/OpenMP
    # thread pools in every worker would only oversubscribe the cores.
    cv2.setNumThreads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def build_dataloader(dataset, batch_size, shuffle=False, num_workers=2, drop_last=False,
                     use_shared_memory=True, persistent_workers=False):
    """``paddle.io.DataLoader`` over a dataset of dicts of arrays -> batches of dicts
    of paddle Tensors (``image`` [B, 3, H, W], ``target`` [B, K, h, w], ...).

    ``num_workers`` > 0 loads in that many worker processes, each single-threaded
    for cv2 (and this process' cv2 is set to one thread, see
    ``release_cv2_threads``). ``persistent_workers=True`` keeps the workers
    across epochs, but they then keep the dataset copy of their first epoch, so
    ``set_epoch`` does not reach them: leave it False with a seeded dataset.
    """
    if num_workers > 0:
        release_cv2_threads()
    return paddle.io.DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
        num_workers=num_workers, use_shared_memory=use_shared_memory,
        worker_init_fn=single_threaded_worker if num_workers > 0 else None,
        persistent_workers=persistent_workers and num_workers > 0)

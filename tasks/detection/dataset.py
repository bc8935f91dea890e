"""PicoDet's COCO dataset, batch collation and loader.

Records follow PaddleDetection's ``COCODataSet`` (data_fields image, gt_bbox, gt_class,
is_crowd): one record per image; box [x, y, w, h] -> x1y1x2y2 = (x, y, x + w, y + h)
rounded to 3 decimals, kept when area > 0 and both sides > 1e-5; gt_class 0 for
person (the only class). Unlike PaddleDetection (which drops crowd boxes and, by
default, images without boxes), crowd boxes are kept apart as ``ignore_bbox`` (the
loss ignores anchors inside them) and images without persons stay in, as negatives.
Every box left out is counted in ``dataset.stats``. Records are packed
(tasks.common.packed_records), so forked loader workers share them without copying.
"""
import logging
from pathlib import Path

import numpy as np
import paddle

from tasks.annotations.validate import gc_paused
from tasks.common.coco import PERSON_ID
from tasks.common.loader import build_loader
from tasks.common.packed_records import PackedRecords, Ragged, field_column, fixed_rows, image_files, read_coco
from tasks.transforms import Compose

from .transforms import TRANSFORMS, BatchTransform

log = logging.getLogger(__name__)

# The batch keys; the padded box keys exist only after PadGT (training).
BATCH_DTYPES = {"image": np.float32, "im_shape": np.float32, "scale_factor": np.float32, "im_id": np.int64,
                "gt_bbox": np.float32, "gt_class": np.int32, "pad_gt_mask": np.float32,
                "ignore_bbox": np.float32, "pad_ignore_mask": np.float32}
PADDED_KEYS = ("gt_bbox", "gt_class", "pad_gt_mask", "ignore_bbox", "pad_ignore_mask")
# Tag of the batch-level random streams ([seed, epoch, tag, *indices]), apart from the per-sample ones.
BATCH_STREAM = 2 ** 32


@gc_paused()  # millions of parsed containers, no cycles: the collector would only walk them
def load_detection_records(ann_file, image_root):
    """COCO JSON -> (records, stats). One packed record per image, in the file's order:
    image_file, image_id, gt_bbox [n, 4] and ignore_bbox [k, 4] (float32 x1y1x2y2).

    stats: images, images_without_persons, annotations = persons + crowd +
    invalid_box + other_category.
    """
    ann_file = Path(ann_file)
    images, anns, image_ids, owner = read_coco(ann_file)
    boxes = fixed_rows([ann["bbox"] for ann in anns], 4, np.float64,
                       lambda i: f"{ann_file}: annotation {anns[i]['id']} bbox")
    boxes[:, 2:] += boxes[:, :2]
    boxes = np.round(boxes, 3)
    area = field_column(anns, "area", np.float64, 0)
    person = np.fromiter((ann.get("category_id") == PERSON_ID for ann in anns), dtype=bool, count=len(anns))
    crowd = field_column(anns, "iscrowd", bool, 0)
    valid = (area > 0) & ((boxes[:, 2:] - boxes[:, :2]) > 1e-5).all(axis=1)
    gt, ignore = person & valid & ~crowd, person & valid & crowd

    def per_image(mask):
        order = np.argsort(owner[mask], kind="stable")
        return Ragged.from_counts(boxes[mask][order].astype(np.float32),
                                  np.bincount(owner[mask], minlength=len(images)))

    records = PackedRecords(
        image_file=image_files(images, image_root, ann_file),
        image_id=image_ids, gt_bbox=per_image(gt), ignore_bbox=per_image(ignore))
    stats = dict(images=len(images),
                 images_without_persons=int(len(images) - np.unique(owner[gt]).size),
                 annotations=len(anns), persons=int(gt.sum()), crowd=int(ignore.sum()),
                 invalid_box=int((person & ~valid).sum()), other_category=int((~person).sum()))
    return records, stats


class DetectionDataset(paddle.io.Dataset):
    """One sample per image: ``transforms`` (the sample transforms) of a fresh copy of its record.

    seed: None draws fresh OS entropy per sample; an int makes sample ``i`` of epoch
    ``e`` reproducible whatever worker runs it (``default_rng([seed, e, i])``; the
    batch draws of ``DetectionCollate`` likewise), see ``set_epoch``.
    """

    def __init__(self, ann_file, image_root, transforms, seed=None):
        super().__init__()
        self.ann_file = str(ann_file)
        self.transforms = transforms
        self.seed = seed
        self.epoch = 0
        self.records, self.stats = load_detection_records(ann_file, image_root)
        log.info("%s: %s", ann_file, ", ".join(f"{k} {v}" for k, v in self.stats.items()))

    def set_epoch(self, epoch):
        """Select the random streams of ``epoch`` (only matters with a seed)."""
        self.epoch = int(epoch)

    def rng(self, *key):
        """The generator of stream ``key`` in this epoch (fresh entropy without a seed)."""
        return np.random.default_rng() if self.seed is None else np.random.default_rng([self.seed, self.epoch, *key])

    def __len__(self):
        return len(self.records)

    def __getitem__(self, index):
        results = self.records[index]
        results["gt_class"] = np.zeros((len(results["gt_bbox"]), 1), dtype=np.int32)  # person
        results["index"] = index
        results["rng"] = self.rng(index)
        return self.transforms(results)


class DetectionCollate:
    """Samples -> batch: the batch transforms (drawing from a generator of the batch's
    sample indices), then the keys of ``BATCH_DTYPES`` stacked:

    image [B, 3, H, W] float32, im_shape [B, 2] (h, w of the network input),
    scale_factor [B, 2] (y, x: input / original), im_id [B, 1] int64; after PadGT also
    gt_bbox [B, M, 4], gt_class [B, M, 1] int32, pad_gt_mask [B, M, 1],
    ignore_bbox [B, K, 4] (zero rows for padding), pad_ignore_mask [B, K, 1].
    """

    def __init__(self, batch_transforms, dataset):
        self.batch_transforms = list(batch_transforms)
        self.dataset = dataset

    def __call__(self, samples):
        rng = self.dataset.rng(BATCH_STREAM, *(sample["index"] for sample in samples))
        for transform in self.batch_transforms:
            if isinstance(transform, BatchTransform):
                samples = transform(samples, rng)
            else:
                samples = [transform(sample) for sample in samples]
        for sample in samples:
            sample["im_id"] = np.array([sample["image_id"]])
        keys = [key for key in BATCH_DTYPES if key not in PADDED_KEYS or "pad_gt_mask" in samples[0]]
        return {key: np.stack([np.asarray(s[key], dtype=BATCH_DTYPES[key]) for s in samples]) for key in keys}


def build_detection_transforms(config, train: bool):
    """(sample transforms ``Compose``, batch transforms list) of ``data.train_pipeline`` +
    ``data.train_batch_pipeline`` or ``data.eval_pipeline`` (no batch transforms).

    Arguments an entry leaves out come from the config: input_size (model), mean, std (data).
    """
    data = config["data"]
    defaults = {"input_size": config["model"]["input_size"], "mean": data["mean"], "std": data["std"]}
    name = "train_pipeline" if train else "eval_pipeline"
    sample = Compose(TRANSFORMS.build_all(data[name], defaults, where=f"data/{name}"))
    batch = TRANSFORMS.build_all(data["train_batch_pipeline"], defaults, where="data/train_batch_pipeline") \
        if train else []
    return sample, batch


def build_detection_loader(config, ann_file, image_root, train: bool, num_replicas=1, rank=0):
    """(loader, batch_sampler, dataset) over a COCO file, with a DistributedBatchSampler
    (this process' share when num_replicas > 1).

    Before each training epoch call ``dataset.set_epoch(e)`` and
    ``batch_sampler.set_epoch(e)``: order and augmentation draws then depend on
    (seed, epoch) only, so a resumed run sees the batches of an uninterrupted one.
    Workers are not persistent, so the epoch reaches them.
    """
    sample_transforms, batch_transforms = build_detection_transforms(config, train)
    dataset = DetectionDataset(ann_file, image_root, sample_transforms,
                               seed=int(config["train"]["seed"]) if train else None)
    loader, sampler = build_loader(dataset, config, train, num_replicas, rank,
                                   collate_fn=DetectionCollate(batch_transforms, dataset))
    return loader, sampler, dataset

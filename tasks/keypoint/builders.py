"""Config dict (tasks.keypoint.config) -> model, transforms, datasets, loaders."""
import paddle

from tasks.keypoint.codecs import DarkHeatmap
from tasks.keypoint.dataset import (EVAL_KEYS, TRAIN_KEYS, TopDownCocoDataset, release_cv2_threads,
                                    single_threaded_worker)
from tasks.keypoint.dataset import build_eval_transforms as eval_pipeline
from tasks.keypoint.dataset import build_train_transforms as train_pipeline
from tasks.keypoint.model import TinyPose
from tasks.keypoint.transforms import Compose


def build_model(config) -> TinyPose:
    return TinyPose(config["model"]["num_joints"], config["model"]["width"])


def build_codec(config) -> DarkHeatmap:
    """PP-TinyPose's heatmap codec (PaddleDetection's ToHeatmapsTopDown_DARK + DARK decoding)."""
    model = config["model"]
    return DarkHeatmap(model["input_size"], model["heatmap_size"], config["augment"]["sigma"])


def build_train_transforms(config) -> Compose:
    """Load, flip/half-body/scale/rotation, AID, UDP crop, DARK targets, normalize, CHW."""
    aug, data, model = config["augment"], config["data"], config["model"]
    return train_pipeline(
        model["input_size"], model["heatmap_size"], aug["sigma"], DarkHeatmap,
        scale_factor=aug["scale"], rot_factor=aug["rot"], rot_prob=aug["rot_prob"],
        prob_half_body=aug["half_body_prob"], num_joints_half_body=aug["num_joints_half_body"],
        flip_prob=0.5 if aug["flip"] else 0.0, flip_pairs=model["flip_pairs"],
        upper_body_ids=aug["upper_body_ids"], prob_cutout=aug["aid_prob"],
        offset_factor=aug["aid_offset_factor"], num_patch=aug["aid_num_patch"],
        pixel_std=data["pixel_std"], mean=data["mean"], std=data["std"], keys=TRAIN_KEYS)


def build_eval_transforms(config) -> Compose:
    """Load, UDP crop of the (ground-truth) box, normalize, CHW, plus what back-projection needs."""
    data = config["data"]
    return eval_pipeline(config["model"]["input_size"], EVAL_KEYS, pixel_std=data["pixel_std"],
                         mean=data["mean"], std=data["std"])


def build_dataset(config, ann_file, image_root, train: bool) -> TopDownCocoDataset:
    """Person dataset over a COCO keypoint file; training samples are seeded by (seed, epoch, index)."""
    transforms = build_train_transforms(config) if train else build_eval_transforms(config)
    return TopDownCocoDataset(ann_file, image_root, config["model"]["input_size"], transforms,
                              num_joints=config["model"]["num_joints"], pixel_std=config["data"]["pixel_std"],
                              padding=config["data"]["bbox_padding"],
                              seed=int(config["train"]["seed"]) if train else None)


def build_loader(dataset, config, train: bool, num_replicas=1, rank=0):
    """DataLoader with a DistributedBatchSampler (this process' share when num_replicas > 1).

    Returns (loader, batch_sampler); call `dataset.set_epoch(e)` and
    `batch_sampler.set_epoch(e)` before each training epoch: the order and the
    augmentation draws then depend on (seed, epoch) only, so a resumed run sees the
    same batches as an uninterrupted one. Workers are not persistent, so the epoch
    reaches them.
    """
    section = config["train"] if train else config["eval"]
    sampler = paddle.io.DistributedBatchSampler(
        dataset, batch_size=int(section["batch_size"]), num_replicas=num_replicas, rank=rank,
        shuffle=bool(train and config["train"]["shuffle"]), drop_last=bool(train and config["train"]["drop_last"]))
    workers = int(config["data"]["num_workers"])
    if workers > 0:
        release_cv2_threads()   # a fork after multi-threaded cv2 gives workers that hang
    loader = paddle.io.DataLoader(dataset, batch_sampler=sampler, num_workers=workers,
                                  worker_init_fn=single_threaded_worker if workers > 0 else None)
    return loader, sampler

"""Train PicoDet-S pedestrian: the detector's adapter on the training engine (tasks.engine), and its CLI.

Single device (GPU when Paddle has CUDA and sees one, CPU otherwise):
    python -m tasks.detection.train --config configs/picodet_s_192_pedestrian.yml \
        --train-ann <data_root>/annotations/aic_coco_train_cocoformat.json \
        --image-root <data_root> --out <data_root>/models/picodet_s_192_pedestrian
Several GPUs, same entry point (one process per GPU; `train.batch_size` is per GPU). The
launcher takes a script path, not `-m`, so the project root must be importable:
    PYTHONPATH=. python -m paddle.distributed.launch --gpus 0,1,2,3 tasks/detection/train.py \
        --config ... --train-ann ... --image-root ... --out ...
What the run writes, how it resumes after a kill and how several devices share the work:
tasks.engine. The training list is read as PaddleDetection's COCODataSet reads it (one
record per image, person boxes, crowd boxes ignored in the loss, images without persons
kept: tasks.detection.dataset); the loss is ATSS-assigned before `loss.static_assigner_epoch`
and TaskAligned after (tasks.detection.losses).
"""
from pathlib import Path

import paddle

from tasks.detection.builders import build_loss
from tasks.detection.config import load_config
from tasks.detection.dataset import build_detection_loader
from tasks.detection.evaluate import STAT_NAMES, score_model
from tasks.engine import TrainAdapter, TrainData
from tasks.engine.entry import run_cli, train_on_list, training_signature
from tasks.models.registry import build_model

__all__ = ["PicoDetTraining", "train", "training_signature"]


class PicoDetTraining(TrainAdapter):
    """Whole images with padded person boxes; VFL + GIoU + DFL on the head's assigned anchors."""

    def __init__(self, config: dict, train_ann, image_root, val_ann=None, val_image_root=None):
        self.config, self.train_ann, self.image_root = config, Path(train_ann), Path(image_root)
        self.val_ann, self.val_image_root, self._val_loader = val_ann, val_image_root, None
        self.criterion = build_loss(config)

    def build_train_data(self, num_replicas, rank) -> TrainData:
        loader, sampler, dataset = build_detection_loader(self.config, self.train_ann, self.image_root, train=True,
                                                          num_replicas=num_replicas, rank=rank)
        if dataset.stats["persons"] == 0:
            raise ValueError(f"{self.train_ann}: no usable person box to train on (stats: {dataset.stats})")
        return TrainData(loader, sampler, dataset)

    def build_model(self):
        return build_model(self.config)

    def losses(self, model, batch, epoch):
        outputs = model(batch["image"])   # training mode: the forward_train dict
        # under AMP the head's outputs are float16; the assigners and losses need float32
        outputs = {key: value.astype("float32") if isinstance(value, paddle.Tensor) and value.is_floating_point()
                   else value for key, value in outputs.items()}
        return self.criterion(outputs, batch["gt_bbox"], batch["gt_class"], batch["pad_gt_mask"], epoch,
                              ignore_bbox=batch["ignore_bbox"])

    def validate(self, model, epoch):
        """EvaluateDetector's scores (person bbox AP) on the val list."""
        if self._val_loader is None:
            self._val_loader, _, dataset = build_detection_loader(self.config, self.val_ann, self.val_image_root,
                                                                  train=False)
            if len(dataset) == 0:
                raise ValueError(f"{self.val_ann}: no image to validate on")
        scores, _, _ = score_model(self.config, model, self._val_loader, self.val_ann, progress=False)
        return {name: scores[name] for name in STAT_NAMES}


def train(config: dict, train_ann, image_root, out_dir, **options) -> dict:
    """Train PicoDet on `train_ann` (COCO, file_name relative to `image_root`) into `out_dir`;
    options: val_ann, val_image_root (for `eval.interval`), device, resume, max_epochs, progress,
    on_epoch (tasks.engine)."""
    return train_on_list(PicoDetTraining, config, train_ann, image_root, out_dir, **options)


def main(argv=None):
    run_cli(PicoDetTraining, load_config, "Train PicoDet-S pedestrian (one process per device).", argv)


if __name__ == "__main__":
    main()

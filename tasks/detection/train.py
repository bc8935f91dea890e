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
import argparse
from pathlib import Path

import paddle
import paddle.distributed as dist

from tasks.detection.builders import build_loss, build_model
from tasks.detection.config import load_config
from tasks.detection.dataset import build_detection_loader
from tasks.engine import TrainAdapter, TrainData
from tasks.engine import train as run_training
from tasks.keypoint.train import training_signature   # model-agnostic: config, list and start weights

__all__ = ["PicoDetTraining", "train", "training_signature"]


class PicoDetTraining(TrainAdapter):
    """Whole images with padded person boxes; VFL + GIoU + DFL on the head's assigned anchors."""

    def __init__(self, config: dict, train_ann, image_root):
        self.config, self.train_ann, self.image_root = config, Path(train_ann), Path(image_root)
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


def train(config: dict, train_ann, image_root, out_dir, *, signature=None, **options) -> dict:
    """Train PicoDet on `train_ann` (COCO, file_name relative to `image_root`) into `out_dir`.
    signature: names the checkpoints to resume (default `training_signature`).
    options: device, resume, max_epochs, progress, on_epoch of tasks.engine.train."""
    signature = signature or training_signature(config, train_ann)
    return run_training(PicoDetTraining(config, train_ann, image_root), config, out_dir, signature=signature,
                        **options)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train PicoDet-S pedestrian (one process per device).")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--train-ann", required=True, type=Path, help="COCO json with person boxes")
    parser.add_argument("--image-root", required=True, type=Path, help="folder file_name is relative to")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--device", default=None, help="cpu or gpu (default: gpu if available)")
    parser.add_argument("--no-resume", action="store_true", help="discard this signature's checkpoints")
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    summary = train(load_config(args.config), args.train_ann, args.image_root, args.out, device=args.device,
                    resume=not args.no_resume, max_epochs=args.max_epochs, progress=not args.no_progress)
    if dist.get_rank() == 0:
        print(" ".join(f"{k}={v}" for k, v in summary.items()))


if __name__ == "__main__":
    main()

"""Train PP-TinyPose: TinyPose's adapter on the training engine (tasks.engine), and its CLI.

Single device (GPU when Paddle has CUDA and sees one, CPU otherwise):
    python -m tasks.keypoint.train --config configs/tinypose_128x96.yml \
        --train-ann <data_root>/annotations/aic_coco_train_cocoformat.json \
        --image-root <data_root> --out <data_root>/models/tinypose_128x96
Several GPUs, same entry point (one process per GPU; `train.batch_size` is per GPU). The
launcher takes a script path, not `-m`, so the project root must be importable:
    PYTHONPATH=. python -m paddle.distributed.launch --gpus 0,1,2,3 tasks/keypoint/train.py \
        --config ... --train-ann ... --image-root ... --out ...
What the run writes, how it resumes after a kill (from the last checkpoint of the same
signature) and how several devices share the work: tasks.engine.
"""
from tasks.common.loader import build_loader
from tasks.engine import TrainAdapter, TrainData
from tasks.engine.entry import run_cli, train_on_list
from tasks.keypoint.builders import build_dataset
from tasks.keypoint.cocoeval import STAT_NAMES
from tasks.keypoint.config import load_config
from tasks.keypoint.evaluate import score_model
from tasks.keypoint.loss import KeypointMSELoss
from tasks.models.registry import build_model


class TinyPoseTraining(TrainAdapter):
    """Top-down person crops with heatmap targets; heatmap MSE weighted by joint visibility."""

    def __init__(self, config: dict, train_ann, image_root, val_ann=None, val_image_root=None):
        self.config, self.train_ann, self.image_root = config, train_ann, image_root
        self.val_ann, self.val_image_root, self._val_dataset = val_ann, val_image_root, None
        self.criterion = KeypointMSELoss(config["loss"]["use_target_weight"], config["loss"]["loss_scale"])

    def build_train_data(self, num_replicas, rank) -> TrainData:
        dataset = build_dataset(self.config, self.train_ann, self.image_root, train=True)
        if len(dataset) == 0:
            raise ValueError(f"{self.train_ann}: no usable person (stats: {dataset.stats})")
        loader, sampler = build_loader(dataset, self.config, train=True, num_replicas=num_replicas, rank=rank)
        return TrainData(loader, sampler, dataset)

    def build_model(self):
        return build_model(self.config)

    def losses(self, model, batch, epoch):
        heatmaps = model(batch["image"])
        return {"loss": self.criterion(heatmaps.astype("float32"), batch["target"], batch["target_weight"])}

    def validate(self, model, epoch):
        """EvaluateTinyPose's scores (GT boxes, the config's flip test) on the val list."""
        if self._val_dataset is None:
            self._val_dataset = build_dataset(self.config, self.val_ann, self.val_image_root, train=False)
            if len(self._val_dataset) == 0:
                raise ValueError(f"{self.val_ann}: no person to validate on (stats: {self._val_dataset.stats})")
        scores, _ = score_model(self.config, model, self._val_dataset, self.val_ann,
                                flip_test=self.config["eval"]["flip_test"], progress=False)
        return {name: scores[name] for name in STAT_NAMES}


def train(config: dict, train_ann, image_root, out_dir, **options) -> dict:
    """Train TinyPose on `train_ann` (COCO keypoints, file_name relative to `image_root`) into
    `out_dir`; options: val_ann, val_image_root (for `eval.interval`), device, resume, max_epochs,
    progress, on_epoch (tasks.engine)."""
    return train_on_list(TinyPoseTraining, config, train_ann, image_root, out_dir, **options)


def main(argv=None):
    run_cli(TinyPoseTraining, load_config, "Train PP-TinyPose (one process per device).", argv)


if __name__ == "__main__":
    main()

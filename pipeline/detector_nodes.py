"""PicoDet-S pedestrian nodes: train on the merged list, evaluate on COCO val2017 persons (bbox AP)."""
import luigi

from pipeline.base import CachedTask, digest, log
from pipeline.config import data_root, resolve
from pipeline.data_nodes import BuildMergedAnnotations, extract_task
from pipeline.keypoint_nodes import KeypointConfigMixin
from tasks.datasets.layout import COCO_ANNOTATIONS, COCO_VAL_IMAGES, IMAGE_LINKS

# What a downstream node or the manifest reports of the detector's evaluation.
REPORTED_METRICS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR")


class DetectorConfigMixin(KeypointConfigMixin):
    """The model folder, signature and training config of KeypointConfigMixin (they do not
    depend on the model), read from a PicoDet config."""
    config = luigi.Parameter(default="configs/picodet_s_192_pedestrian.yml",
                             description="model YAML (configs/picodet_s_*.yml)")

    def model_config(self) -> dict:
        from tasks.detection.config import load_config
        return load_config(resolve(self.config))


class TrainDetector(DetectorConfigMixin, CachedTask):
    """Train PicoDet-S pedestrian; resumes from its last checkpoint after a kill."""
    stage_outputs = False  # train() writes its final files atomically and keeps checkpoints

    def requires(self):
        return BuildMergedAnnotations()

    def signature_params(self):
        # evaluation settings (NMS included) do not change the trained weights
        params = super().signature_params()
        params["config"] = {k: v for k, v in params["config"].items() if k not in ("eval", "nms")}
        return params

    def digested_outputs(self):
        return ("weights", "config")   # what evaluation and export read

    def outputs(self):
        folder = self.model_dir()
        return {"weights": folder / "model_final.pdparams", "config": folder / "config_used.yml",
                "log": folder / "train_log.csv", "curves": folder / "curves.png"}

    def manifest_path(self):
        return self.model_dir() / "train.manifest.json"

    def build(self, out):
        """Checkpoints are kept per signature (tasks.engine): an interrupted run resumes
        when its signature comes back."""
        from tasks.detection.train import train
        return train(self.training_config(), self.input().task.outputs()["merged"], data_root(), self.model_dir(),
                     signature=digest(self.signature()),
                     on_epoch=lambda done, total, loss: self.progress(
                         f"epoch {done}/{total}, loss {loss:.3e}", done / total))


class EvaluateDetector(DetectorConfigMixin, CachedTask):
    """COCO bbox AP of the person category on val2017 (pycocotools; crowd regions ignored)."""

    def requires(self):
        return {"model": TrainDetector(config=self.config),
                "annotations": extract_task(COCO_ANNOTATIONS),
                "images": extract_task(COCO_VAL_IMAGES)}

    def outputs(self):
        """eval/: metrics.json, bbox_results.json, vis/ (drawn detections and ground truth)."""
        return {"folder": self.model_dir() / "eval"}

    def manifest_path(self):
        return self.model_dir() / "eval.manifest.json"

    def build(self, out):
        from tasks.detection.evaluate import evaluate
        val_ann = self.requires()["annotations"].located()["files"]["val"]
        weights = self.requires()["model"].outputs()["weights"]
        self.progress("evaluating on val2017")
        metrics = evaluate(self.model_config(), weights, val_ann,
                           data_root() / IMAGE_LINKS[COCO_VAL_IMAGES], out["folder"])
        log.info("%s: bbox AP=%.3f AP50=%.3f AR=%.3f on %d images (%s)", self.model_config()["name"],
                 metrics["AP"], metrics["AP50"], metrics["AR"], metrics["images"], val_ann)
        return {k: metrics[k] for k in REPORTED_METRICS}

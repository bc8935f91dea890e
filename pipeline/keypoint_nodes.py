"""TinyPose nodes: train on the merged list, evaluate on COCO val2017 with GT boxes."""
import luigi

from pipeline.base import CachedTask, digest, log
from pipeline.config import data_root, resolve
from pipeline.data_nodes import BuildMergedAnnotations, extract_task
from tasks.datasets.layout import COCO_ANNOTATIONS, COCO_VAL_IMAGES, IMAGE_LINKS
from tasks.common.fingerprint import sha256_file


class KeypointConfigMixin:
    config = luigi.Parameter(default="configs/tinypose_128x96.yml",
                             description="model YAML (configs/tinypose_*.yml)")

    def model_config(self) -> dict:
        """The resolved config (`_base_` merged, validated): its content, not the file's
        bytes, is the signature, so editing a base file re-runs the models built on it."""
        from tasks.keypoint.config import load_config
        return load_config(resolve(self.config))

    def model_dir(self):
        """models/<config name>, tagged when an upstream node runs a non-default variant."""
        return data_root() / "models" / f"{self.model_config()['name']}{self.variant_suffix()}"

    def signature_params(self):
        config = self.model_config()
        params = {**super().signature_params(), "config": config}
        pretrained = config["train"].get("pretrained")
        if pretrained:
            params["pretrained_sha256"] = sha256_file(resolve(pretrained))
        return params

    def training_config(self) -> dict:
        """The config as training uses it: `train.pretrained` resolved like every config path."""
        config = self.model_config()
        if config["train"].get("pretrained"):
            config["train"]["pretrained"] = str(resolve(config["train"]["pretrained"]))
        return config


class TrainTinyPose(KeypointConfigMixin, CachedTask):
    """Train PP-TinyPose; resumes from its last checkpoint after a kill."""
    stage_outputs = False  # train() writes its final files atomically and keeps checkpoints

    def requires(self):
        return BuildMergedAnnotations()

    def signature_params(self):
        # evaluation settings do not change the trained weights
        params = super().signature_params()
        params["config"] = {k: v for k, v in params["config"].items() if k != "eval"}
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
        from tasks.keypoint.train import train
        return train(self.training_config(), self.input().task.outputs()["merged"], data_root(), self.model_dir(),
                     signature=digest(self.signature()),
                     on_epoch=lambda done, total, loss: self.progress(
                         f"epoch {done}/{total}, loss {loss:.3e}", done / total))


class EvaluateTinyPose(KeypointConfigMixin, CachedTask):
    """COCO keypoint AP of the trained model on val2017 with ground-truth boxes."""

    def requires(self):
        return {"model": TrainTinyPose(config=self.config),
                "annotations": extract_task(COCO_ANNOTATIONS),
                "images": extract_task(COCO_VAL_IMAGES)}

    def outputs(self):
        """eval/: metrics.json, keypoints_results.json, vis/ (drawn predictions)."""
        return {"folder": self.model_dir() / "eval"}

    def manifest_path(self):
        return self.model_dir() / "eval.manifest.json"

    def build(self, out):
        from tasks.keypoint.evaluate import evaluate
        val_ann = self.requires()["annotations"].located()["files"]["val"]
        weights = self.requires()["model"].outputs()["weights"]
        self.progress("evaluating on val2017")
        metrics = evaluate(self.model_config(), weights, val_ann,
                           data_root() / IMAGE_LINKS[COCO_VAL_IMAGES], out["folder"])
        log.info("%s: AP=%.3f AP50=%.3f AR=%.3f on %d persons (%s)", self.model_config()["name"],
                 metrics["AP"], metrics["AP50"], metrics["AR"], metrics["persons"], val_ann)
        return {k: metrics[k] for k in ("AP", "AP50", "AP75", "APm", "APl", "AR")}

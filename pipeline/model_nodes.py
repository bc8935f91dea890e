"""Training and evaluation nodes shared by every model: a config of any architecture
(`architecture:` picks its loader), trained on the merged list, scored on COCO val2017,
both with their images verified first (VerifyImages).

A model adds a pair of subclasses that name its default config, its work functions
and what its evaluation reports (pipeline/keypoint_nodes.py, pipeline/detector_nodes.py).
"""
import importlib
import shlex

import luigi

from pipeline.base import CachedTask, digest, log
from pipeline.config import data_root, resolve
from pipeline.verify_nodes import VerifyImages
from tasks.common.fingerprint import sha256_file
from tasks.datasets.layout import COCO_VAL_IMAGES, IMAGE_LINKS


def work_function(reference: str):
    """'package.module:function' -> the function (imported when the node runs, so that
    importing pipeline.tasks stays free of Paddle)."""
    module, name = reference.split(":")
    return getattr(importlib.import_module(module), name)


class ModelConfigMixin:
    config = luigi.Parameter(description="model YAML (configs/*.yml)")
    set = luigi.Parameter(default="", description="config overrides: 'train.epochs=50 optimizer.base_lr=0.1' "
                                                   "(values are YAML, checked by the config's schema)")

    def overrides(self) -> list:
        return shlex.split(self.set)

    def model_config(self) -> dict:
        """The resolved config (`_base_` merged, `set` applied, validated): its content, not the
        file's bytes, is the signature, so editing a base file re-runs the models built on it.
        Overrides tag its name (``<name>__set-<hash>``, unless they set `name`), so an
        overridden model never writes over the config's own."""
        from tasks.models import load_model_config
        overrides = self.overrides()
        config = load_model_config(resolve(self.config), overrides)
        if overrides and not any(o.partition("=")[0].strip() == "name" for o in overrides):
            config["name"] += f"__set-{digest(overrides)[:8]}"
        return config

    def training_overrides(self, train_node) -> str:
        """`set` without the overrides of the sections that do not change `train_node`'s weights:
        what this node passes to the training it requires, so an evaluation-only change
        does not retrain."""
        return shlex.join(o for o in self.overrides()
                          if o.partition("=")[0].split(".")[0].strip() not in train_node.evaluation_sections)

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


class TrainModel(ModelConfigMixin, CachedTask):
    """Train the config's model; resumes from its last checkpoint after a kill. Checkpoints
    are kept per signature (tasks.engine): an interrupted run resumes when it comes back."""
    stage_outputs = False         # training writes its final files atomically, keeps checkpoints
    train_function = None         # 'module:function' with tasks.engine.entry's train() signature
    evaluation_sections = ("eval",)   # config sections that do not change the trained weights

    def requires(self):
        return VerifyImages(split="train")

    def signature_params(self):
        params = super().signature_params()
        params["config"] = {k: v for k, v in params["config"].items() if k not in self.evaluation_sections}
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
        self.progress(f"training {self.model_config()['name']}")
        return work_function(self.train_function)(
            self.training_config(), self.input().task.outputs()["verified"], data_root(), self.model_dir(),
            signature=digest(self.signature()),
            on_epoch=lambda done, total, loss: self.progress(f"epoch {done}/{total}, loss {loss:.3e}", done / total))


class EvaluateModel(ModelConfigMixin, CachedTask):
    """The trained model scored on COCO val2017 with pycocotools; eval/ holds metrics.json,
    the results file and drawn images."""
    train_node = None             # the TrainModel subclass
    evaluate_function = None      # 'module:function'(config, weights, val_ann, image_root, out_dir)
    reported_metrics = ()         # metrics kept in the manifest and logged

    def requires(self):
        return {"model": self.train_node(config=self.config, set=self.training_overrides(self.train_node)),
                "val": VerifyImages(split="val")}

    def outputs(self):
        return {"folder": self.model_dir() / "eval"}

    def manifest_path(self):
        return self.model_dir() / "eval.manifest.json"

    def build(self, out):
        val_ann = self.requires()["val"].outputs()["verified"]
        self.progress("evaluating on val2017")
        metrics = work_function(self.evaluate_function)(
            self.model_config(), self.requires()["model"].outputs()["weights"], val_ann,
            data_root() / IMAGE_LINKS[COCO_VAL_IMAGES], out["folder"])
        reported = {k: metrics[k] for k in self.reported_metrics}
        log.info("%s on %s: %s", self.model_config()["name"], val_ann,
                 " ".join(f"{k}={v:.3f}" for k, v in reported.items()))
        return reported

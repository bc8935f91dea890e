"""Training and evaluation nodes shared by every model: a config of any architecture
(`architecture:` picks its loader), trained on the merged list, scored on COCO val2017,
both with their images verified first (VerifyImages).

A kind of model adds a pair of subclasses that name its default config
(pipeline/keypoint_nodes.py, pipeline/detector_nodes.py); the work functions and what an
evaluation reports come from the config's kind (``tasks.models``).
"""
import inspect
import os
import shlex

import luigi
import orjson

from pipeline import PROJECT_ROOT
from pipeline.cached_task import CachedTask, digest, log
from pipeline.config import data_root, resolve
from pipeline.verify_nodes import VerifyImages
from tasks.common.fingerprint import sha256_file, still_matches
from tasks.common.ownership import ForeignOutputError
from tasks.common.validation import shapes_training, training_eval, validation_settings
from tasks.datasets.layout import COCO_VAL_IMAGES, IMAGE_LINKS


def model_kind(config):
    """The kind (``tasks.models.ModelKind``) of a loaded config: its work functions and metrics."""
    from tasks.models import spec_of
    return spec_of(config).kind


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
        does not retrain (`eval.interval` and `eval.key_metric` change what training writes when
        the config validates during training: then they are passed on)."""
        validates = bool(validation_settings(self.model_config())["interval"])
        return shlex.join(o for o in self.overrides()
                          if o.partition("=")[0].split(".")[0].strip() not in train_node.evaluation_sections
                          or (validates and shapes_training(o)))

    def model_dir(self):
        """models/<config name>, tagged when an upstream node runs a non-default variant."""
        return data_root() / "models" / f"{self.model_config()['name']}{self.variant_suffix()}"

    def signature_params(self):
        config = self.model_config()
        params = {**super().signature_params(), "config": config}
        for key in ("pretrained", "pretrain_weights"):
            path = config["train"].get(key)
            if path and "://" not in path:   # a URL's file is checked against its recorded sha256
                params[f"{key}_sha256"] = sha256_file(resolve(path))
        return params

    def training_config(self) -> dict:
        """The config as training uses it: `train.pretrained` and a local `train.pretrain_weights`
        resolved like every config path."""
        config = self.model_config()
        train_cfg = config["train"]
        for key in ("pretrained", "pretrain_weights"):
            if train_cfg.get(key) and "://" not in train_cfg[key]:
                train_cfg[key] = str(resolve(train_cfg[key]))
        return config


class LaunchParams:
    """Where a training runs: several devices and machines (paddle.distributed.launch). Not
    significant themselves: the process count (the batch is per process) is in the signature.
    A node that requires the training (evaluation, export) passes none of them: give them as
    the config's `train.devices`, in the `[TrainTinyPose]` / `[TrainDetector]` section of the
    Luigi config, or as `--TrainTinyPose-devices ...` on the command line."""
    devices = luigi.Parameter(default="", significant=False,
                              description="device ids of this machine, e.g. 0,1,2,3 (default: the config's "
                                          "train.devices, else one device); on CPU their count of processes")
    nnodes = luigi.IntParameter(default=1, significant=False, description="machines training together")
    master = luigi.Parameter(default="", significant=False,
                             description="host:port of the rank-0 machine (nnodes > 1)")
    node_rank = luigi.IntParameter(default=0, significant=False, description="this machine's rank (nnodes > 1)")

    def training_config(self) -> dict:
        """The config, with `train.devices` from the `devices` parameter when given."""
        config = super().training_config()
        if self.devices:
            config["train"]["devices"] = [int(d) for d in self.devices.split(",")]
        return config

    def world_size(self) -> int:
        """Training processes: this machine's devices times the number of machines."""
        return len(self.training_config()["train"].get("devices", [0])) * self.nnodes


class TrainModel(LaunchParams, ModelConfigMixin, CachedTask):
    """Train the config's model, on one device in this process or on several through
    paddle.distributed.launch (tasks.engine.launch); resumes from its last checkpoint after a
    kill. Checkpoints are kept per signature (tasks.engine): an interrupted run resumes when it
    comes back. With `eval.interval` it also requires the verified val list and scores the model
    on it during training (val_log.csv, model_best.pdparams: tasks.engine.validation). A
    training the command line finished into the model folder with the same training signature (tasks.engine.entry.training_signature) is taken as it is;
    weights this node did not record and cannot match stop it."""
    stage_outputs = False         # training writes its final files atomically, keeps checkpoints
    def train_function(self):
        """The config kind's training (``tasks.engine.entry``'s train() signature)."""
        return model_kind(self.model_config()).train_function()

    evaluation_sections = ("eval",)   # config sections that do not change the trained weights

    def requires(self):
        # "input": the name the training list had when it was the only requirement (the signature's key)
        needs = {"input": VerifyImages(split="train")}
        if self.validates():
            needs["val"] = VerifyImages(split="val")
        return needs

    def validates(self) -> bool:
        return bool(training_eval(self.model_config()))

    def signature_params(self):
        params = super().signature_params()
        params["config"] = {k: v for k, v in params["config"].items() if k not in self.evaluation_sections}
        if self.validates():
            params["config"]["eval"] = training_eval(self.model_config())
        params["world_size"] = self.world_size()
        return params

    def digested_outputs(self):
        # what evaluation and export read
        return ("weights", "config", "best") if self.validates() else ("weights", "config")

    def outputs(self):
        folder = self.model_dir()
        outputs = {"weights": folder / "model_final.pdparams", "config": folder / "config_used.yml",
                   "log": folder / "train_log.csv", "curves": folder / "curves.png"}
        if self.validates():
            outputs.update({"best": folder / "model_best.pdparams", "val_log": folder / "val_log.csv"})
        return outputs

    def manifest_path(self):
        return self.model_dir() / "train.manifest.json"

    def weights_dir(self):
        return data_root() / "downloads" / "pretrained"

    def train_ann(self):
        return self.requires()["input"].outputs()["verified"]

    def val_list(self) -> dict:
        """The val list training scores (`eval.interval`) as train functions take it; {} without."""
        if not self.validates():
            return {}
        return {"val_ann": self.requires()["val"].outputs()["verified"],
                "val_image_root": data_root() / IMAGE_LINKS[COCO_VAL_IMAGES]}

    def build(self, out):
        name = self.model_config()["name"]
        if self._finished_by_hand:
            log.info("%s: %s holds a finished training with this signature (trained outside the DAG): "
                     "taken as it is, not trained again", name, self.model_dir())
            return {"adopted": True}
        self.progress(f"training {name} on {self.world_size()} process(es)")
        def on_epoch(done, total, loss):
            self.progress(f"epoch {done}/{total}, loss {loss:.3e}", done / total)

        if self.world_size() == 1:
            self.train_function()(self.training_config(), self.train_ann(), data_root(), self.model_dir(),
                                  weights_dir=self.weights_dir(), on_epoch=on_epoch, **self.val_list())
        else:
            self._launch(on_epoch)
        summary = orjson.loads((self.model_dir() / "train_summary.json").read_bytes())
        return {**summary, "adopted": False}

    def _launch(self, on_epoch):
        from tasks.common.config import dump_config
        from tasks.engine.launch import launcher_command, run_launcher
        from tasks.engine.process_setup import pick_device
        folder = self.model_dir() / "launch"
        config_path = dump_config(self.training_config(), folder / "config.yml")
        script = inspect.getsourcefile(self.train_function())
        val_args = [value for name, path in self.val_list().items()
                    for value in (f"--{name.replace('_', '-')}", path)]
        cmd = launcher_command(script, ["--config", config_path, "--train-ann", self.train_ann(),
                                        "--image-root", data_root(), "--out", self.model_dir(),
                                        "--weights-dir", self.weights_dir(), "--no-progress", *val_args],
                               devices=self.training_config()["train"].get("devices", [0]), log_dir=folder,
                               gpu=pick_device().startswith("gpu"), nnodes=self.nnodes, master=self.master,
                               node_rank=self.node_rank)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                                         os.environ.get("PYTHONPATH")]))}
        run_launcher(cmd, folder, on_epoch=on_epoch, env=env, cwd=PROJECT_ROOT)

    # --- a training finished outside the node, and weights nobody recorded --------
    def _claim_outputs(self, final):
        self._finished_by_hand = self._holds_matching_training()
        if not self._finished_by_hand:
            self._refuse_unrecorded_weights(final["weights"])
        super()._claim_outputs(final)

    def adopts(self, name, path):
        return self._finished_by_hand

    def _training_signature(self) -> str:
        from tasks.engine.entry import training_signature
        from tasks.engine.pretrain import pretrain_sha256
        config = self.training_config()
        return training_signature(config, self.train_ann(), self.world_size(),
                                  pretrain_sha256(config["train"], self.weights_dir()))

    def _holds_matching_training(self) -> bool:
        """model_final.pdparams and its train_summary.json say: finished, with this node's
        training signature, these very weights, and every other output is there."""
        summary_path = self.model_dir() / "train_summary.json"
        if not (summary_path.is_file() and all(p.exists() for p in self.outputs().values())):
            return False
        summary = orjson.loads(summary_path.read_bytes())
        return (summary.get("signature") == self._training_signature()
                and summary.get("weights_sha256") == sha256_file(self.outputs()["weights"]))

    def _refuse_unrecorded_weights(self, weights):
        manifest = self.read_manifest() or {"outputs": {}}
        recorded = manifest["outputs"].get("weights")
        if weights.exists() and not (recorded and still_matches(weights, recorded)):
            raise ForeignOutputError(
                f"{self.task_id} stops: {weights} is not the model this node recorded, nor a finished "
                f"training with this node's signature (config, training list, {self.world_size()} process(es), "
                "pretrain weights); training would overwrite it. Move the model folder away, or train "
                "the same config, data and device count as this node.")


class EvaluateModel(ModelConfigMixin, CachedTask):
    """The trained model scored on COCO val2017 with pycocotools; eval/ holds metrics.json,
    the results file and drawn images. It scores the weights `eval.weights` names:
    model_final.pdparams (final, the default) or model_best.pdparams (best, with `eval.interval`)."""
    train_node = None             # the TrainModel subclass
    def evaluate_function(self):
        """The config kind's evaluation: (config, weights, val_ann, image_root, out_dir) -> metrics."""
        return model_kind(self.model_config()).evaluate_function()

    def reported_metrics(self) -> tuple:
        """The metrics kept in the manifest and logged."""
        return model_kind(self.model_config()).reported_metrics

    def requires(self):
        return {"model": self.train_node(config=self.config, set=self.training_overrides(self.train_node)),
                "val": VerifyImages(split="val")}

    def outputs(self):
        return {"folder": self.model_dir() / "eval"}

    def manifest_path(self):
        return self.model_dir() / "eval.manifest.json"

    def build(self, out):
        val_ann = self.requires()["val"].outputs()["verified"]
        which = validation_settings(self.model_config())["weights"]
        self.progress(f"evaluating the {which} weights on val2017")
        trained = self.requires()["model"].outputs()
        metrics = self.evaluate_function()(
            self.model_config(), trained["best" if which == "best" else "weights"], val_ann,
            data_root() / IMAGE_LINKS[COCO_VAL_IMAGES], out["folder"])
        reported = {k: metrics[k] for k in self.reported_metrics()}
        log.info("%s (%s weights) on %s: %s", self.model_config()["name"], which, val_ann,
                 " ".join(f"{k}={v:.3f}" for k, v in reported.items()))
        return {**reported, "weights": which}

"""Validation during training (`eval.interval`): on the engine's toy adapter (seconds) a run that
validates trains exactly as one that does not, keeps the best weights by the key metric and
resumes to the uninterrupted run's val_log.csv and model_best.pdparams whatever a killed run
left; the training signature takes `eval.interval` / `eval.key_metric` only; and through the
TinyPose node on the sample, two epochs validated every epoch, then scored with eval.weights=best."""
import csv
import json
from pathlib import Path

import luigi
import numpy as np
import paddle
import pytest
import yaml

import pipeline.cached_task  # noqa: F401 - before the luigi_config fixture: importing pipeline reloads Luigi's config
from keypoint_tiny_data import make_tiny_coco
from pipeline.tasks import EvaluateTinyPose, TrainTinyPose
from pipeline_helpers import PROJECT_ROOT, tinypose_test_config
from tasks.common.config import ConfigError
from tasks.detection.config import load_config as load_detector_config
from tasks.engine import train
from tasks.engine.entry import training_signature
from tasks.keypoint.config import load_config
from test_engine_loop import ToyAdapter, ToyData, run, toy_config, weights


class ToyValidated(ToyAdapter):
    """The toy regression scored on its first samples without noise: "AP" is 1 / (1 + mse). Its
    loss and its validation both draw from the global random streams (dropout, numpy), so a
    validation that moved them would change the training."""

    def losses(self, model, batch, epoch):
        jitter = paddle.to_tensor(np.random.normal(scale=0.01, size=batch["image"].shape).astype("float32"))
        return super().losses(model, {**batch, "image": paddle.nn.functional.dropout(batch["image"] + jitter, 0.1)},
                              epoch)

    def validate(self, model, epoch):
        data = ToyData(seed=0)
        np.random.normal(size=3), paddle.rand([3])   # as an evaluation with random draws of its own would
        model.eval()
        with paddle.no_grad():
            error = model(paddle.to_tensor(data.x[:8])) - paddle.to_tensor(data.y[:8])
        mse = float((error * error).mean())
        return {"AP": 1.0 / (1.0 + mse), "mse": mse}


def validated_run(out, config, **options):
    return train(ToyValidated(config), config, out, signature="s" * 64, device="cpu", progress=False, **options)


def same_weights_as_checkpoint(weights_path, checkpoint_path) -> bool:
    saved, model = paddle.load(str(weights_path)), paddle.load(str(checkpoint_path))["model"]
    return saved.keys() == model.keys() and all(np.array_equal(saved[k].numpy(), model[k].numpy()) for k in saved)


def val_rows(path) -> list:
    with Path(path).open(newline="") as f:
        return list(csv.DictReader(f))


def test_validating_changes_no_training_step_and_keeps_the_best(tmp_path):
    plain = validated_run(tmp_path / "plain", toy_config())   # no eval section: not validated
    config = {**toy_config(), "eval": {"interval": 2}}
    validated = validated_run(tmp_path / "val", config)
    assert ((tmp_path / "val" / "train_log.csv").read_bytes() == (tmp_path / "plain" / "train_log.csv").read_bytes())
    a, b = weights(tmp_path / "plain" / "model_final.pdparams"), weights(tmp_path / "val" / "model_final.pdparams")
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert plain["final_loss"] == validated["final_loss"] and "validation" not in plain
    rows = val_rows(tmp_path / "val" / "val_log.csv")
    assert [(r["epoch"], r["step"]) for r in rows] == [("2", "12"), ("4", "24"), ("6", "36")]
    best = max(rows, key=lambda r: float(r["AP"]))
    assert validated["validation"] == {"validations": 3, "key_metric": "AP", "best_epoch": int(best["epoch"]),
                                       "best_value": float(best["AP"])}
    # the best file holds the (EMA) weights that scored it: scoring it again gives the logged AP
    model = ToyValidated(config).build_model()
    model.set_state_dict(paddle.load(str(tmp_path / "val" / "model_best.pdparams")))
    assert ToyValidated(config).validate(model, 0)["AP"] == float(best["AP"])
    assert (tmp_path / "val" / "curves.png").stat().st_size > 0


def test_resume_rewrites_what_a_killed_run_left(tmp_path):
    # mse as the key metric: the best stays at the first epoch, before the "kill", so the resumed
    # run must restore model_best.pdparams from its checkpoint
    config = {**toy_config(), "eval": {"interval": 1, "key_metric": "mse"}}
    validated_run(tmp_path / "straight", config)
    validated_run(tmp_path / "resumed", config, max_epochs=3)
    resumed_dir = tmp_path / "resumed"
    with (resumed_dir / "val_log.csv").open("a") as f:   # what a run killed after epoch 4's validation leaves
        f.write("4,24,0.5,1.0\n")
    paddle.save({k: v * 0 for k, v in paddle.load(str(resumed_dir / "model_best.pdparams")).items()},
                str(resumed_dir / "model_best.pdparams"))
    summary = validated_run(resumed_dir, config)
    assert summary["resumed_from"].endswith("epoch_0003.pdckpt")
    for name in ("val_log.csv", "train_log.csv"):
        assert (resumed_dir / name).read_bytes() == (tmp_path / "straight" / name).read_bytes(), name
    a, b = weights(tmp_path / "straight" / "model_best.pdparams"), weights(resumed_dir / "model_best.pdparams")
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert summary["validation"]["best_epoch"] <= 3


def test_a_run_without_interval_removes_the_files_of_one_with(tmp_path):
    validated_run(tmp_path, {**toy_config(epochs=2), "eval": {"interval": 1}})
    run(tmp_path, toy_config(epochs=2), resume=False)
    assert not (tmp_path / "val_log.csv").exists() and not (tmp_path / "model_best.pdparams").exists()


def test_training_signature_takes_interval_and_key_metric_only(tmp_path):
    listing = tmp_path / "train.json"
    listing.write_text("{}")
    config = toy_config()

    def signature(eval_section):
        return training_signature({**config, "eval": eval_section}, listing)

    plain = signature({"batch_size": 8, "flip_test": True})
    assert signature({"batch_size": 2, "key_metric": "AP50", "weights": "final"}) == plain   # no interval
    every = signature({"interval": 1})
    assert every != plain and signature({"interval": 1, "key_metric": "AP", "flip_test": False}) == every
    assert signature({"interval": 1, "key_metric": "AP50"}) != every
    assert signature({"interval": 2}) != every


def test_best_weights_need_an_interval_and_the_key_metric_must_be_known():
    sample = PROJECT_ROOT / "configs" / "tinypose_128x96_sample.yml"
    with pytest.raises(ConfigError, match="eval/weights: best needs eval.interval"):
        load_config(sample, ["eval.weights=best"])
    with pytest.raises(ConfigError, match="eval/key_metric"):
        load_config(sample, ["eval.interval=1", "eval.key_metric=APs"])   # a detector's metric
    assert load_config(sample, ["eval.interval=1", "eval.weights=best"])["eval"]["interval"] == 1


@pytest.mark.slow
def test_tinypose_node_validates_every_epoch_and_evaluation_scores_the_best(sample_pipeline, tmp_path):
    config = tmp_path / "tinypose_val.yml"
    settings = tinypose_test_config("tinypose_val", 0.008)
    settings["train"]["epochs"] = 2
    settings["eval"]["interval"] = 1
    config.write_text(yaml.safe_dump(settings))
    train_node = TrainTinyPose(config=str(config))
    assert luigi.build([train_node], local_scheduler=True, detailed_summary=True)
    outputs = train_node.outputs()
    rows = val_rows(outputs["val_log"])
    assert [r["epoch"] for r in rows] == ["1", "2"] and all(0 <= float(r["AP"]) <= 1 for r in rows)
    best = max(rows, key=lambda r: float(r["AP"]))   # the first of equal scores
    info = train_node.read_manifest()["info"]
    assert info["validation"]["best_epoch"] == int(best["epoch"])
    assert info["validation"]["best_value"] == float(best["AP"])
    # the best file is the best epoch's weights (no EMA in this config: the checkpoint's model), not the last
    signature = training_signature(train_node.training_config(), train_node.train_ann(), world_size=1)
    checkpoints = train_node.model_dir() / "checkpoints" / signature[:16]
    best_checkpoint = checkpoints / f"epoch_{int(best['epoch']):04d}.pdckpt"
    assert same_weights_as_checkpoint(outputs["best"], best_checkpoint)
    assert not same_weights_as_checkpoint(outputs["weights"], checkpoints / "epoch_0001.pdckpt")
    assert paddle.load(str(checkpoints / "epoch_0002.pdckpt"))["best"]["epoch"] == int(best["epoch"])
    assert outputs["curves"].stat().st_size > 0
    trained_at = train_node.manifest_path().stat().st_mtime_ns

    evaluation = EvaluateTinyPose(config=str(config), set="eval.weights=best")
    assert luigi.build([evaluation], local_scheduler=True, detailed_summary=True)
    assert train_node.manifest_path().stat().st_mtime_ns == trained_at   # an eval-only override: not retrained
    metrics = json.loads((evaluation.outputs()["folder"] / "metrics.json").read_text())
    assert metrics["weights"] == str(outputs["best"])
    assert metrics["AP"] == round(float(best["AP"]), 4)   # the same evaluation code on the same weights
    assert evaluation.read_manifest()["info"]["weights"] == "best"


def test_detector_validation_scores_what_evaluate_scores(tmp_path):
    """PicoDetTraining.validate on fresh weights gives EvaluateDetector's numbers for those weights."""
    from tasks.detection.evaluate import STAT_NAMES, evaluate
    from tasks.detection.train import PicoDetTraining
    val_ann, image_root = make_tiny_coco(tmp_path / "val", num_images=4, split="val")
    config = load_detector_config(PROJECT_ROOT / "configs" / "picodet_s_192_sample.yml",
                                  ["data.num_workers=0", "eval.interval=1", "nms.score_threshold=0.0"])
    adapter = PicoDetTraining(config, val_ann, image_root, val_ann=val_ann, val_image_root=image_root)
    paddle.seed(3)
    model = adapter.build_model()
    paddle.save(model.state_dict(), str(tmp_path / "w.pdparams"))
    validated = adapter.validate(model, 1)
    evaluated = evaluate(config, tmp_path / "w.pdparams", val_ann, image_root, tmp_path / "eval", num_vis=0,
                         progress=False)
    assert list(validated) == list(STAT_NAMES)
    assert {k: round(v, 4) for k, v in validated.items()} == {k: evaluated[k] for k in STAT_NAMES}

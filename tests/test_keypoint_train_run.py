"""TinyPose training on the engine: the loss falls on an overfit; a killed run (a real SIGKILL of
the CLI, and through the Luigi node) resumes to the uninterrupted run's losses and weights, bit
for bit."""
import os
import sys
from pathlib import Path

import luigi
import pytest
import yaml

import pipeline.cached_task  # noqa: F401 - before the luigi_config fixture: importing pipeline reloads Luigi's config
from keypoint_tiny_data import make_tiny_coco
from kill_resume import killed_resumed_and_straight, same_weights
from pipeline.tasks import TrainTinyPose
from tasks.engine.checkpoints import list_checkpoints
from tasks.engine.entry import training_signature
from tasks.engine.log import read_log
from tasks.engine.schedule import lr_at
from tasks.keypoint.config import deep_merge, dump_config, load_config, validate_config
from tasks.keypoint.train import train

ROOT = Path(__file__).resolve().parents[1]
SUBPROCESS_TIMEOUT = 300


def tiny_config(workers=0, **train_overrides):
    cfg = load_config(ROOT / "configs" / "tinypose_128x96_sample.yml")
    override = {"train": {"epochs": 3, "batch_size": 4, "snapshot_epoch": 1, "keep_checkpoints": 2,
                          **train_overrides},
                "data": {"num_workers": workers},
                "optimizer": {"base_lr": 0.004, "warmup_steps": 4, "milestones": [2]}}
    return validate_config(deep_merge(cfg, override), source="tiny test config")


@pytest.mark.slow
def test_short_training_lowers_the_loss(tmp_path):
    # Two images, no augmentation: 30 steps of batch 4 must fit them visibly (about 10 s).
    ann, images = make_tiny_coco(tmp_path / "data", num_images=2)
    cfg = validate_config(deep_merge(tiny_config(epochs=30, snapshot_epoch=100), {
        "optimizer": {"base_lr": 0.008, "warmup_steps": 2, "milestones": [1000]},
        "data": {"train_pipeline": [step for step in load_config(ROOT / "configs" / "tinypose_128x96.yml")["data"]
                                    ["train_pipeline"] if step["type"] not in ("RandomFlipHalfBody", "InformationDropping")]}}))
    summary = train(cfg, ann, images, tmp_path / "run", progress=False)
    log = read_log(tmp_path / "run" / "train_log.csv")
    assert summary["steps"] == len(log["step"]) == 30 * summary["steps_per_epoch"]
    assert list(log) == ["step", "epoch", "lr", "loss"]
    assert log["loss"][-3:].mean() < 0.6 * log["loss"][:2].mean(), log["loss"]
    for name in ("model_final.pdparams", "curves.png", "config_used.yml", "train_summary.json"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    assert load_config(tmp_path / "run" / "config_used.yml") == cfg


def _cli(cfg_path, ann, images, out):
    return [sys.executable, "-m", "tasks.keypoint.train", "--config", str(cfg_path), "--train-ann", str(ann),
            "--image-root", str(images), "--out", str(out), "--device", "cpu", "--no-progress"]


@pytest.mark.slow
def test_kill_and_resume_matches_an_uninterrupted_run(tmp_path):
    ann, images = make_tiny_coco(tmp_path / "data", num_images=6)
    cfg = tiny_config(workers=1, epochs=4)     # a loader worker process, as the shipped configs have
    cfg_path = dump_config(cfg, tmp_path / "tiny.yml")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    folder = Path("checkpoints") / training_signature(cfg, ann)[:16]
    killed, straight = killed_resumed_and_straight(lambda out: _cli(cfg_path, ann, images, out), tmp_path,
                                                   str(folder / "epoch_0001.pdckpt"), env, ROOT, SUBPROCESS_TIMEOUT)
    log = read_log(straight / "train_log.csv")
    steps_per_epoch = len(log["step"]) // 4
    assert log["step"].tolist() == list(range(4 * steps_per_epoch))
    assert log["lr"].tolist() == [lr_at(s, cfg["optimizer"], steps_per_epoch, 4) for s in range(4 * steps_per_epoch)]
    assert [p.name for p in list_checkpoints(killed / folder)] == ["epoch_0003.pdckpt", "epoch_0004.pdckpt"]


@pytest.mark.slow
def test_node_resumes_its_interrupted_run_exactly(sample_pipeline, tmp_path):
    """TrainTinyPose on the sample: kill it (in effect) after epoch 2's log rows but before its
    checkpoint, run the node again: it resumes from epoch 1 and ends where the whole run ended."""
    config = tmp_path / "tiny.yml"
    config.write_text(yaml.safe_dump({
        "_base_": str(ROOT / "configs" / "tinypose_128x96_sample.yml"), "name": "tinypose_resume",
        "model": {"input_size": [32, 64], "heatmap_size": [8, 16]},   # a sixth of the compute
        "data": {"num_workers": 0},
        "train": {"epochs": 2, "batch_size": 64, "snapshot_epoch": 1, "keep_checkpoints": 2},
        "optimizer": {"milestones": [1], "warmup_steps": 2}}))
    node = TrainTinyPose(config=str(config))
    assert luigi.build([node], local_scheduler=True)
    outputs, model_dir = node.outputs(), node.model_dir()
    whole_log, whole_weights = outputs["log"].read_bytes(), model_dir / "whole.pdparams"
    outputs["weights"].rename(whole_weights)

    signature = training_signature(node.training_config(), node.train_ann(), world_size=1)
    folder = model_dir / "checkpoints" / signature[:16]
    assert [p.name for p in list_checkpoints(folder)] == ["epoch_0001.pdckpt", "epoch_0002.pdckpt"]
    (folder / "epoch_0002.pdckpt").unlink()
    node.manifest_path().unlink()
    assert not node.complete()
    assert luigi.build([node], local_scheduler=True) and node.complete()
    assert node.read_manifest()["info"]["resumed_from"] == str(folder / "epoch_0001.pdckpt")
    assert outputs["log"].read_bytes() == whole_log
    assert same_weights(outputs["weights"], whole_weights)

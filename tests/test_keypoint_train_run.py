"""Training runs on a tiny generated dataset: the loss falls; a killed run resumes exactly."""
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keypoint_tiny_data import make_tiny_coco
from tasks.keypoint.config import deep_merge, dump_config, load_config, validate_config
from tasks.keypoint.schedule import lr_at
from tasks.keypoint.train import list_checkpoints, read_log, train

ROOT = Path(__file__).resolve().parents[1]


def tiny_config(**train_overrides):
    cfg = load_config(ROOT / "configs" / "tinypose_128x96_sample.yml")
    override = {"train": {"epochs": 3, "batch_size": 4, "snapshot_epoch": 1, "keep_checkpoints": 2,
                          **train_overrides},
                "data": {"num_workers": 0},
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
    assert log["loss"][-3:].mean() < 0.6 * log["loss"][:2].mean(), log["loss"]
    for name in ("model_final.pdparams", "curves.png", "config_used.yml", "train_summary.json"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    assert load_config(tmp_path / "run" / "config_used.yml") == cfg


def _cli(cfg_path, ann, images, out):
    return [sys.executable, "-m", "tasks.keypoint.train", "--config", str(cfg_path), "--train-ann", str(ann),
            "--image-root", str(images), "--out", str(out), "--device", "cpu", "--no-progress"]


def _rows(path):
    with open(path, newline="") as f:
        return [(int(r["step"]), int(r["epoch"]), float(r["lr"])) for r in csv.DictReader(f)]


@pytest.mark.slow
def test_kill_and_resume_matches_an_uninterrupted_run(tmp_path):
    ann, images = make_tiny_coco(tmp_path / "data", num_images=6)
    cfg_path = dump_config(tiny_config(epochs=4), tmp_path / "tiny.yml")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cli(cfg_path, ann, images, killed), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = killed / "checkpoints" / "epoch_0001.pdckpt"
    deadline = time.monotonic() + 120
    try:
        while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert first.exists(), proc.stderr.read().decode()[-2000:] if proc.poll() is not None else "no checkpoint"
    finally:  # the kill under test, and no training process left behind when the assert fails
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert not (killed / "model_final.pdparams").exists(), "run finished before the kill; make it longer"

    subprocess.run(_cli(cfg_path, ann, images, killed), cwd=ROOT, env=env, check=True, timeout=600,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    straight = tmp_path / "straight"
    subprocess.run(_cli(cfg_path, ann, images, straight), cwd=ROOT, env=env, check=True, timeout=600,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    resumed_rows, straight_rows = _rows(killed / "train_log.csv"), _rows(straight / "train_log.csv")
    assert resumed_rows == straight_rows
    # Same data order, augmentation draws and optimizer state: the losses match too.
    assert read_log(killed / "train_log.csv")["loss"] == pytest.approx(read_log(straight / "train_log.csv")["loss"],
                                                                       rel=1e-3)
    steps_per_epoch = len(straight_rows) // 4
    assert [r[0] for r in straight_rows] == list(range(4 * steps_per_epoch))
    cfg = load_config(cfg_path)
    assert [r[2] for r in straight_rows] == pytest.approx(
        [lr_at(s, cfg["optimizer"], steps_per_epoch) for s in range(4 * steps_per_epoch)], rel=1e-6)
    assert (killed / "model_final.pdparams").exists()
    assert [p.name for p in list_checkpoints(killed / "checkpoints")] == ["epoch_0003.pdckpt", "epoch_0004.pdckpt"]

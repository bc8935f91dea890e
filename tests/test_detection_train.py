"""PicoDet training on the engine: the loss falls on an overfit; a killed run (a real SIGKILL of the
CLI) resumes to the uninterrupted run's per-step losses and weights, bit for bit, across the switch
from the ATSS to the TaskAligned assigner, with EMA and a loader worker."""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from keypoint_tiny_data import make_tiny_coco
from kill_resume import killed_resumed_and_straight
from tasks.common.config import deep_merge, dump_config
from tasks.detection.config import load_config, validate_config
from tasks.detection.train import train, training_signature
from tasks.engine.checkpoints import list_checkpoints
from tasks.engine.log import read_log

ROOT = Path(__file__).resolve().parents[1]
SUBPROCESS_TIMEOUT = 700  # one training process; a busy 2-core machine makes it minutes
LOSS_COLUMNS = ["loss", "loss_vfl", "loss_bbox", "loss_dfl"]


def tiny_config(**override):
    """The sample config cut to a few steps of batch 2 at 128x128."""
    cfg = load_config(ROOT / "configs" / "picodet_s_192_sample.yml")
    small = {"train": {"epochs": 4, "batch_size": 2, "snapshot_epoch": 1, "keep_checkpoints": 2},
             "data": {"num_workers": 0},
             "optimizer": {"base_lr": 0.02, "warmup_steps": 2},
             "loss": {"static_assigner_epoch": 2}}
    return validate_config(deep_merge(deep_merge(cfg, small), override), source="tiny test config")


def test_short_training_lowers_the_loss(tmp_path):
    # Two images, no augmentation, one input size: 24 steps of batch 2 must fit them visibly.
    ann, images = make_tiny_coco(tmp_path / "data", num_images=2)
    cfg = tiny_config(
        train={"epochs": 24, "snapshot_epoch": 100, "use_ema": False},
        optimizer={"base_lr": 0.05, "warmup_steps": 2},
        loss={"static_assigner_epoch": 100},
        data={"train_pipeline": [{"type": "LoadImage"}],
              "train_batch_pipeline": [{"type": "BatchRandomResize", "target_size": [128], "random_size": False,
                                        "random_interp": False},
                                       {"type": "NormalizeImage"}, {"type": "Permute"}, {"type": "PadGT"}]})
    summary = train(cfg, ann, images, tmp_path / "run", progress=False, device="cpu")
    log = read_log(tmp_path / "run" / "train_log.csv")
    assert summary["steps"] == len(log["step"]) == 24
    assert list(log) == ["step", "epoch", "lr"] + LOSS_COLUMNS
    assert log["loss"][-3:].mean() < 0.6 * log["loss"][:2].mean(), log["loss"]
    for name in ("model_final.pdparams", "curves.png", "config_used.yml", "train_summary.json"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    assert load_config(tmp_path / "run" / "config_used.yml") == cfg


def test_a_list_without_person_boxes_is_refused(tmp_path):
    import json
    ann, images = make_tiny_coco(tmp_path / "data", num_images=1)
    document = json.loads(ann.read_text())
    document["annotations"] = []
    ann.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="no usable person box"):
        train(tiny_config(), ann, images, tmp_path / "run", progress=False, device="cpu")


def _cli(cfg_path, ann, images, out):
    return [sys.executable, "-m", "tasks.detection.train", "--config", str(cfg_path), "--train-ann", str(ann),
            "--image-root", str(images), "--out", str(out), "--device", "cpu", "--no-progress"]


@pytest.mark.slow
@pytest.mark.timeout(2400)  # three training processes; minutes each on a busy 2-core machine
def test_kill_and_resume_matches_an_uninterrupted_run(tmp_path):
    ann, images = make_tiny_coco(tmp_path / "data", num_images=6)
    # the published augmentation (every random transform), EMA and a loader worker process
    published = load_config(ROOT / "configs" / "picodet_s_192_pedestrian.yml")["data"]["train_pipeline"]
    cfg = tiny_config(data={"num_workers": 1, "train_pipeline": published})
    assert cfg["train"]["use_ema"] and cfg["loss"]["static_assigner_epoch"] == 2
    cfg_path = dump_config(cfg, tmp_path / "tiny.yml")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    folder = Path("checkpoints") / training_signature(cfg, ann)[:16]
    killed, straight = killed_resumed_and_straight(lambda out: _cli(cfg_path, ann, images, out), tmp_path,
                                                   str(folder / "epoch_0001.pdckpt"), env, ROOT, SUBPROCESS_TIMEOUT)
    log = read_log(straight / "train_log.csv")
    assert log["step"].tolist() == list(range(4 * 3)) and sorted(set(log["epoch"].tolist())) == [0, 1, 2, 3]
    assert np.isfinite(np.stack([log[c] for c in LOSS_COLUMNS])).all()
    assert [p.name for p in list_checkpoints(killed / folder)] == ["epoch_0003.pdckpt", "epoch_0004.pdckpt"]

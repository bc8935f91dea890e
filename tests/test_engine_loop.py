"""The engine on a toy adapter (seconds): loss falls, a resumed run is the uninterrupted run bit
for bit (Momentum + cosine + EMA, PicoDet's recipe), checkpoints per signature, outputs."""
import json

import numpy as np
import paddle
import pytest

from tasks.engine import TrainAdapter, TrainData, train
from tasks.engine.checkpoints import list_checkpoints
from tasks.engine.log import read_log


class ToyData(paddle.io.Dataset):
    """y = x A + 1 with per-(seed, epoch, index) input noise, as a real dataset augments."""

    def __init__(self, seed, size=24):
        rng = np.random.default_rng(123)
        self.x = rng.normal(size=(size, 4)).astype("float32")
        self.y = (self.x @ rng.normal(size=(4, 2)) + 1.0).astype("float32")
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        noise = np.random.default_rng((self.seed, self.epoch, i)).normal(scale=0.05, size=4).astype("float32")
        return {"image": self.x[i] + noise, "y": self.y[i]}


class ToyAdapter(TrainAdapter):
    def __init__(self, config):
        self.config = config

    def build_train_data(self, num_replicas, rank):
        dataset = ToyData(self.config["train"]["seed"])
        sampler = paddle.io.DistributedBatchSampler(dataset, batch_size=self.config["train"]["batch_size"],
                                                    num_replicas=num_replicas, rank=rank, shuffle=True)
        return TrainData(paddle.io.DataLoader(dataset, batch_sampler=sampler, num_workers=0), sampler, dataset)

    def build_model(self):
        return paddle.nn.Sequential(paddle.nn.Linear(4, 16), paddle.nn.BatchNorm1D(16), paddle.nn.ReLU(),
                                    paddle.nn.Linear(16, 2))

    def losses(self, model, batch, epoch):
        error = model(batch["image"]) - batch["y"]
        mse, l1 = (error * error).mean(), error.abs().mean()
        return {"loss": mse + 0.1 * l1, "mse": mse, "l1": l1}


def toy_config(**train):
    return {"name": "toy",
            "train": {"epochs": 6, "batch_size": 4, "snapshot_epoch": 1, "keep_checkpoints": 2, "amp": True,
                      "seed": 5, "use_ema": True, "ema_decay": 0.99, **train},
            "optimizer": {"type": "Momentum", "momentum": 0.9, "base_lr": 0.05, "weight_decay": 4e-5,
                          "schedule": "cosine", "warmup_steps": 5, "warmup_start_factor": 0.1}}


def run(out, config, signature="s" * 64, **options):
    return train(ToyAdapter(config), config, out, signature=signature, device="cpu", progress=False, **options)


def weights(path):
    return {k: v.numpy() for k, v in paddle.load(str(path)).items()}


def test_loss_falls_and_the_run_writes_its_files(tmp_path):
    epochs_seen = []
    config = toy_config(use_ema=False)
    config["optimizer"] = {"type": "Adam", "base_lr": 0.02, "weight_decay": 0.0, "warmup_steps": 2,
                           "warmup_start_factor": 0.1, "milestones": [5], "gamma": 0.1}
    summary = run(tmp_path, config, on_epoch=lambda done, total, loss: epochs_seen.append((done, total)))
    log = read_log(tmp_path / "train_log.csv")
    assert summary["steps"] == len(log["step"]) == 6 * 6 and summary["steps_per_epoch"] == 6
    assert list(log) == ["step", "epoch", "lr", "loss", "mse", "l1"]
    assert log["loss"] == pytest.approx(log["mse"] + 0.1 * log["l1"], rel=1e-5)
    assert log["loss"][-6:].mean() < 0.3 * log["loss"][:6].mean(), log["loss"]
    assert epochs_seen == [(e, 6) for e in range(1, 7)]
    assert summary["amp"] is False and summary["device"] == "cpu"   # amp is for GPUs only
    assert json.loads((tmp_path / "train_summary.json").read_text())["final_loss"] == log["loss"][-1]
    for name in ("model_final.pdparams", "curves.png", "config_used.yml"):
        assert (tmp_path / name).stat().st_size > 0
    final = weights(tmp_path / "model_final.pdparams")
    checkpoint = paddle.load(str(list_checkpoints(tmp_path / "checkpoints" / ("s" * 16))[-1]))
    assert all(np.array_equal(final[k], checkpoint["model"][k].numpy()) for k in final)   # no EMA: the model


def test_resume_equals_the_uninterrupted_run_bit_for_bit(tmp_path):
    straight = run(tmp_path / "straight", toy_config())
    run(tmp_path / "resumed", toy_config(), max_epochs=2)        # "killed" after epoch 2
    resumed = run(tmp_path / "resumed", toy_config())
    assert resumed["resumed_from"].endswith("epoch_0002.pdckpt") and straight["resumed_from"] is None
    assert ((tmp_path / "resumed" / "train_log.csv").read_bytes()
            == (tmp_path / "straight" / "train_log.csv").read_bytes())
    a, b = weights(tmp_path / "straight" / "model_final.pdparams"), weights(tmp_path / "resumed" / "model_final.pdparams")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    # with EMA on, model_final holds the averaged weights, not the last ones
    last = paddle.load(str(tmp_path / "straight" / "checkpoints" / ("s" * 16) / "epoch_0006.pdckpt"))
    assert last["ema"]["updates"] == 36 and "scaler" not in last
    assert not np.array_equal(a["0.weight"], last["model"]["0.weight"].numpy())
    correction = 1 - last["ema"]["last_decay"] ** 36
    assert a["0.weight"] == pytest.approx(last["ema"]["averages"]["0.weight"].numpy() / correction, rel=1e-6)


def test_an_interrupted_signature_resumes_after_another_ran(tmp_path):
    config = toy_config(epochs=3, keep_signatures=2)
    run(tmp_path, config, signature="a" * 64, max_epochs=1)
    run(tmp_path, config, signature="b" * 64)
    again = run(tmp_path, config, signature="a" * 64)
    assert again["resumed_from"] == str(tmp_path / "checkpoints" / ("a" * 16) / "epoch_0001.pdckpt")
    run(tmp_path, config, signature="c" * 64, max_epochs=1)     # a third: b, the least recently used, goes
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["a" * 16, "c" * 16]
    fresh = run(tmp_path, config, signature="a" * 64, resume=False)
    assert fresh["resumed_from"] is None and fresh["steps"] == 3 * 6


def test_a_non_finite_loss_stops_the_run(tmp_path):
    config = toy_config(use_ema=False)
    config["optimizer"]["base_lr"] = 1e30
    with pytest.raises(FloatingPointError, match="base_lr"):
        run(tmp_path, config)

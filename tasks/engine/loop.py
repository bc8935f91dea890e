"""The training loop shared by every model (tasks.engine describes it and the adapter)."""
import logging
import math
import time
from pathlib import Path

import paddle
import paddle.distributed as dist

from tasks.common.atomic import atomic_path, write_json
from tasks.common.config import dump_config
from tasks.common.fingerprint import sha256_file
from tasks.common.logs import progress_bar
from tasks.common.pretrain_weights import load_pretrain_weights
from tasks.engine.adapter import TrainAdapter
from tasks.engine.checkpoints import CheckpointStore
from tasks.engine.ema import ModelEMA
from tasks.engine.log import StepLog, plot_curves
from tasks.engine.optimizer import build_optimizer
from tasks.engine.process_setup import (pick_device, random_states, restore_random_states, seed_everything,
                                        start_processes)
from tasks.engine.validation import VAL_LOG, is_due, start_validation

log = logging.getLogger(__name__)

DEFAULT_KEEP_SIGNATURES = 3
DEFAULT_EMA_DECAY = 0.9998   # PaddleDetection's default `ema_decay`
DEFAULT_LOSS_SCALE = 1024.0  # AMP's initial loss scale (PaddleDetection's init_loss_scaling)


def train(adapter: TrainAdapter, config: dict, out_dir, *, signature: str, device=None, resume=True,
          max_epochs=None, progress=True, on_epoch=None, pretrain_weights=None) -> dict:
    """Train `adapter`'s model with `config`'s `train` and `optimizer` sections into `out_dir`.

    signature: digest of what the weights are a function of; names the checkpoint folder.
    device: 'cpu' / 'gpu' / 'gpu:N' (default: a GPU when there is one). resume: continue from
    this signature's newest checkpoint (False: discard its checkpoints). max_epochs: stop after
    this many epochs in total (the schedule still spans `train.epochs`). on_epoch: called by the
    writer as on_epoch(epochs_done, epochs, last_total_loss). Returns the summary (also
    out_dir/train_summary.json). pretrain_weights: the local file of `train.pretrain_weights`
    (tasks.engine.pretrain), loaded by suffix match into a fresh run.
    """
    # Parameter and optimizer-state names come from Paddle's process-wide name counter and key
    # the optimizer's checkpoint: fresh counters make them the same in every run of a process.
    with paddle.utils.unique_name.guard():
        run = _TrainingRun(adapter, config, Path(out_dir), signature, device, max_epochs)
        run.start(resume, pretrain_weights)
        run.open_outputs(resume, progress)
        return run.train_epochs(on_epoch)


class _TrainingRun:
    """One call of `train`, in its steps: set-up (processes, data, model, AMP), `start` (from a
    checkpoint or fresh weights), `open_outputs` (the writer's log, validation, progress bar),
    `train_epochs` (steps, validation, checkpoints), then the writer's final files."""

    def __init__(self, adapter, config, out_dir, signature, device, max_epochs):
        self.adapter, self.config, self.out_dir, self.signature = adapter, config, out_dir, signature
        self.train_cfg = train_cfg = config["train"]
        self.device = pick_device(device)
        self.world_size, self.rank = start_processes(self.device)
        self.is_writer = self.rank == 0
        self.seed = int(train_cfg["seed"])
        seed_everything(self.seed + self.rank)

        self.data = adapter.build_train_data(self.world_size, self.rank)
        self.steps_per_epoch = len(self.data.sampler)
        if self.steps_per_epoch == 0:
            raise ValueError(f"{config['name']}: no training batch ({len(self.data.dataset)} samples, "
                             f"train.batch_size {train_cfg.get('batch_size')}, drop_last {train_cfg.get('drop_last')})")
        self.model = adapter.build_model()
        self.use_amp = bool(train_cfg["amp"]) and self.device.startswith("gpu")
        self.scaler = (paddle.amp.GradScaler(init_loss_scaling=float(train_cfg.get("amp_loss_scale",
                                                                                   DEFAULT_LOSS_SCALE)))
                       if self.use_amp else None)
        self.total_epochs = int(train_cfg["epochs"])
        self.epochs = self.total_epochs if max_epochs is None else min(int(max_epochs), self.total_epochs)

    def start(self, resume, pretrain_weights):
        """Optimizer, schedule and EMA, at this signature's newest checkpoint (with `resume`) or at
        the start weights."""
        train_cfg = self.train_cfg
        self.store = CheckpointStore(self.out_dir / "checkpoints", self.signature,
                                     keep=int(train_cfg["keep_checkpoints"]),
                                     keep_signatures=int(train_cfg.get("keep_signatures", DEFAULT_KEEP_SIGNATURES)))
        self.resumed_from = self.store.latest() if resume else None
        state = paddle.load(str(self.resumed_from)) if self.resumed_from else {"epoch": 0, "step": 0, "losses": {}}
        self.start_epoch, self.step = int(state["epoch"]), int(state["step"])
        self.optimizer, self.schedule = build_optimizer(self.config["optimizer"], self.model.parameters(),
                                                        self.steps_per_epoch, self.total_epochs, start_step=self.step)
        self.ema = (ModelEMA(self.model, float(train_cfg.get("ema_decay", DEFAULT_EMA_DECAY)))
                    if train_cfg.get("use_ema") else None)
        if self.resumed_from:
            _restore(state, self.model, self.optimizer, self.ema, self.scaler, self.steps_per_epoch,
                     self.resumed_from)
            if self.is_writer:
                restore_random_states(state["random"])
            else:   # other ranks keep streams of their own
                seed_everything(self.seed + self.rank + self.step)
        else:
            _load_start_weights(self.adapter, self.model, train_cfg, pretrain_weights)
        self.last_losses, self.best = dict(state["losses"]), state.get("best")
        self.net = (paddle.DataParallel(self.model, find_unused_parameters=self.adapter.find_unused_parameters)
                    if self.world_size > 1 else self.model)

    def open_outputs(self, resume, progress):
        """The writer claims the checkpoint folder and opens config_used.yml, the step log and the
        validation; every rank gets a progress bar (shown by the writer only)."""
        self.step_log = self.validation = None
        if self.is_writer:
            self.store.claim(clear=not resume)
            dump_config(self.config, self.out_dir / "config_used.yml")
            self.step_log = StepLog(self.out_dir / "train_log.csv", start_step=self.step)
            self.validation = start_validation(self.adapter, self.config, self.out_dir, self.start_epoch, self.best)
        total_steps = self.epochs * self.steps_per_epoch
        self.bar = progress_bar(total=total_steps, initial=min(self.step, total_steps), unit="step",
                                dynamic_ncols=True, enabled=progress and self.is_writer, desc=self.config["name"])

    def train_epochs(self, on_epoch) -> dict:
        """The remaining epochs, then the summary (and the writer's final files)."""
        started, self.samples_seen = time.perf_counter(), 0
        self.net.train()
        try:
            for epoch in range(self.start_epoch, self.epochs):
                self.data.set_epoch(epoch)
                self._tick = time.perf_counter()
                for batch in self.data.loader:
                    self._train_step(batch, epoch)
                self._end_epoch(epoch + 1, on_epoch)
        finally:
            self.bar.close()
            if self.step_log is not None:
                self.step_log.close()
        summary = self._summary(time.perf_counter() - started)
        if self.is_writer:
            self._write_final_files(summary)
        if self.world_size > 1:
            dist.barrier()
        return summary

    def _train_step(self, batch, epoch):
        """One optimizer step on `batch`: losses, backward (scaled under AMP), EMA, log, progress."""
        lr = self.schedule()
        with paddle.amp.auto_cast(enable=self.use_amp, level="O1"):
            losses = self.adapter.losses(self.net, batch, epoch)
        total = losses["loss"]
        if self.scaler is not None:
            self.scaler.scale(total).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            total.backward()
            self.optimizer.step()
        self.optimizer.clear_grad()
        self.schedule.step()
        if self.ema is not None:
            self.ema.update(self.model)
        self.last_losses = {name: float(value) for name, value in losses.items()}
        if self.scaler is None and not math.isfinite(self.last_losses["loss"]):
            raise FloatingPointError(f"{self.config['name']}: loss {self.last_losses} at step {self.step} "
                                     f"(epoch {epoch}); lower optimizer.base_lr or check the data")
        if self.step_log is not None:
            self.step_log.write(self.step, epoch, lr, self.last_losses)
        self.step += 1
        self._show_progress(batch, epoch, lr)

    def _show_progress(self, batch, epoch, lr):
        batch_samples = self.adapter.batch_samples(batch) * self.world_size
        now = time.perf_counter()
        rate = batch_samples / max(now - self._tick, 1e-9)
        self._tick, self.samples_seen = now, self.samples_seen + batch_samples
        self.bar.set_postfix(epoch=epoch, loss=f"{self.last_losses['loss']:.3e}", lr=f"{lr:.2e}",
                             samples_s=f"{rate:.1f}")
        self.bar.update(1)

    def _end_epoch(self, done, on_epoch):
        """After `done` epochs: validation when due (the other ranks wait for it), a checkpoint
        every `train.snapshot_epoch` and at the last epoch, then `on_epoch`."""
        if is_due(self.config, done, self.total_epochs):
            if self.validation is not None:
                self.validation.run(_final_weights(self.model, self.ema), done, self.step)
            if self.world_size > 1:
                dist.barrier()
        if self.is_writer and (done % int(self.train_cfg["snapshot_epoch"]) == 0 or done == self.epochs):
            self.store.save(_checkpoint(self.model, self.optimizer, self.ema, self.scaler, done, self.step,
                                        self.steps_per_epoch, self.last_losses, self.signature, self.validation),
                            done)
        if self.is_writer and on_epoch is not None:
            on_epoch(done, self.epochs, self.last_losses["loss"])

    def _summary(self, elapsed) -> dict:
        return {
            "name": self.config["name"], "device": self.device, "world_size": self.world_size, "amp": self.use_amp,
            "ema": self.ema is not None, "epochs": self.epochs, "steps": self.step,
            "steps_per_epoch": self.steps_per_epoch, "samples": len(self.data.dataset),
            "final_loss": self.last_losses.get("loss", math.nan), "final_losses": self.last_losses,
            "seconds_this_run": round(elapsed, 2),
            "samples_per_s_this_run": (round(self.samples_seen / elapsed, 2)
                                       if elapsed > 0 and self.samples_seen else None),
            "signature": self.signature, "resumed_from": str(self.resumed_from) if self.resumed_from else None,
        }

    def _write_final_files(self, summary):
        """model_final.pdparams (its sha256 into `summary`), curves.png and train_summary.json."""
        out_dir = self.out_dir
        with atomic_path(out_dir / "model_final.pdparams") as tmp:
            paddle.save(_final_weights(self.model, self.ema), str(tmp))
            summary["weights_sha256"] = sha256_file(tmp)
        if self.validation is not None:
            summary["validation"] = self.validation.summary()
        plot_curves(out_dir / "train_log.csv", out_dir / "curves.png",
                    val_log_path=out_dir / VAL_LOG if self.validation is not None else None)
        write_json(out_dir / "train_summary.json", summary, indent=True)


def _load_start_weights(adapter, model, train_cfg, pretrain_weights):
    """A fresh run's start: a whole model (`train.pretrained`, strict) or pretrain weights matched
    by name suffix (`train.pretrain_weights`, e.g. an ImageNet backbone), not both."""
    if train_cfg.get("pretrained") and pretrain_weights:
        raise ValueError("train.pretrained and train.pretrain_weights are both set: a run starts from one "
                         "(set the other to null)")
    if train_cfg.get("pretrained"):
        adapter.load_pretrained(model, train_cfg["pretrained"])
    elif pretrain_weights:
        load_pretrain_weights(model, pretrain_weights)


def _final_weights(model, ema) -> dict:
    """What model_final.pdparams holds: the EMA weights when EMA is on, else the model's."""
    return ema.weights(model) if ema is not None else model.state_dict()


def _checkpoint(model, optimizer, ema, scaler, epoch, step, steps_per_epoch, losses, signature,
                validation) -> dict:
    """Everything a resumed run needs to continue as if never stopped."""
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "epoch": epoch,    # epochs completed
             "step": step,      # optimizer steps completed
             "steps_per_epoch": steps_per_epoch, "losses": losses, "random": random_states(),
             "signature": signature}
    if validation is not None and validation.state() is not None:
        state["best"] = validation.state()   # the best so far survives a kill
    if ema is not None:
        state["ema"] = ema.state_dict()
    if scaler is not None:
        state["scaler"] = scaler.state_dict()
    return state


def _restore(state, model, optimizer, ema, scaler, steps_per_epoch, path):
    model.set_state_dict(state["model"])
    optimizer.set_state_dict(state["optimizer"])
    if ema is not None:
        if "ema" not in state:
            raise ValueError(f"{path}: checkpoint has no EMA state but train.use_ema is on")
        ema.set_state_dict(state["ema"])
    if scaler is not None and "scaler" in state:
        scaler.load_state_dict(state["scaler"])
    if int(state["steps_per_epoch"]) != steps_per_epoch:
        log.warning("%s: written with %s steps per epoch, resumed with %s (another device count?): "
                    "the lr schedule continues from step %s", path, state["steps_per_epoch"], steps_per_epoch,
                    state["step"])

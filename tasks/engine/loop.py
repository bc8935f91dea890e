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
from tasks.common.pretrain_weights import load_pretrain_weights
from tasks.common.logs import progress_bar
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
        return _run(adapter, config, Path(out_dir), signature, device, resume, max_epochs, progress, on_epoch,
                    pretrain_weights)


def _run(adapter, config, out_dir, signature, device, resume, max_epochs, progress, on_epoch,
         pretrain_weights) -> dict:
    train_cfg = config["train"]
    device = pick_device(device)
    world_size, rank = start_processes(device)
    is_writer = rank == 0
    seed = int(train_cfg["seed"])
    seed_everything(seed + rank)

    data = adapter.build_train_data(world_size, rank)
    steps_per_epoch = len(data.sampler)
    if steps_per_epoch == 0:
        raise ValueError(f"{config['name']}: no training batch ({len(data.dataset)} samples, "
                         f"train.batch_size {train_cfg.get('batch_size')}, drop_last {train_cfg.get('drop_last')})")
    model = adapter.build_model()
    use_amp = bool(train_cfg["amp"]) and device.startswith("gpu")
    scaler = (paddle.amp.GradScaler(init_loss_scaling=float(train_cfg.get("amp_loss_scale", DEFAULT_LOSS_SCALE)))
              if use_amp else None)
    total_epochs = int(train_cfg["epochs"])
    epochs = total_epochs if max_epochs is None else min(int(max_epochs), total_epochs)

    store = CheckpointStore(out_dir / "checkpoints", signature, keep=int(train_cfg["keep_checkpoints"]),
                            keep_signatures=int(train_cfg.get("keep_signatures", DEFAULT_KEEP_SIGNATURES)))
    resumed_from = store.latest() if resume else None
    state = paddle.load(str(resumed_from)) if resumed_from else {"epoch": 0, "step": 0, "losses": {}}
    start_epoch, step = int(state["epoch"]), int(state["step"])
    optimizer, schedule = build_optimizer(config["optimizer"], model.parameters(), steps_per_epoch, total_epochs,
                                          start_step=step)
    ema = ModelEMA(model, float(train_cfg.get("ema_decay", DEFAULT_EMA_DECAY))) if train_cfg.get("use_ema") else None
    if resumed_from:
        _restore(state, model, optimizer, ema, scaler, steps_per_epoch, resumed_from)
        if is_writer:
            restore_random_states(state["random"])
        else:   # other ranks keep streams of their own
            seed_everything(seed + rank + step)
    else:
        _load_start_weights(adapter, model, train_cfg, pretrain_weights)
    last_losses, best = dict(state["losses"]), state.get("best")
    del state
    net = (paddle.DataParallel(model, find_unused_parameters=adapter.find_unused_parameters)
           if world_size > 1 else model)

    step_log = validation = None
    if is_writer:
        store.claim(clear=not resume)
        dump_config(config, out_dir / "config_used.yml")
        step_log = StepLog(out_dir / "train_log.csv", start_step=step)
        validation = start_validation(adapter, config, out_dir, start_epoch, best)
    bar = progress_bar(total=epochs * steps_per_epoch, initial=min(step, epochs * steps_per_epoch), unit="step",
                       dynamic_ncols=True, enabled=progress and is_writer, desc=config["name"])
    started, samples_seen = time.perf_counter(), 0
    net.train()
    try:
        for epoch in range(start_epoch, epochs):
            data.set_epoch(epoch)
            tick = time.perf_counter()
            for batch in data.loader:
                lr = schedule()
                with paddle.amp.auto_cast(enable=use_amp, level="O1"):
                    losses = adapter.losses(net, batch, epoch)
                total = losses["loss"]
                if scaler is not None:
                    scaler.scale(total).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    total.backward()
                    optimizer.step()
                optimizer.clear_grad()
                schedule.step()
                if ema is not None:
                    ema.update(model)
                last_losses = {name: float(value) for name, value in losses.items()}
                if scaler is None and not math.isfinite(last_losses["loss"]):
                    raise FloatingPointError(f"{config['name']}: loss {last_losses} at step {step} (epoch {epoch}); "
                                             "lower optimizer.base_lr or check the data")
                if step_log is not None:
                    step_log.write(step, epoch, lr, last_losses)
                step += 1
                batch_samples = adapter.batch_samples(batch) * world_size
                now = time.perf_counter()
                rate = batch_samples / max(now - tick, 1e-9)
                tick, samples_seen = now, samples_seen + batch_samples
                bar.set_postfix(epoch=epoch, loss=f"{last_losses['loss']:.3e}", lr=f"{lr:.2e}",
                                samples_s=f"{rate:.1f}")
                bar.update(1)
            done = epoch + 1
            if is_due(config, done, total_epochs):
                if validation is not None:
                    validation.run(_final_weights(model, ema), done, step)
                if world_size > 1:   # the others wait for the writer's validation
                    dist.barrier()
            if is_writer and (done % int(train_cfg["snapshot_epoch"]) == 0 or done == epochs):
                store.save(_checkpoint(model, optimizer, ema, scaler, done, step, steps_per_epoch, last_losses,
                                       signature, validation), done)
            if is_writer and on_epoch is not None:
                on_epoch(done, epochs, last_losses["loss"])
    finally:
        bar.close()
        if step_log is not None:
            step_log.close()
    elapsed = time.perf_counter() - started
    summary = {
        "name": config["name"], "device": device, "world_size": world_size, "amp": use_amp, "ema": ema is not None,
        "epochs": epochs, "steps": step, "steps_per_epoch": steps_per_epoch, "samples": len(data.dataset),
        "final_loss": last_losses.get("loss", math.nan), "final_losses": last_losses,
        "seconds_this_run": round(elapsed, 2),
        "samples_per_s_this_run": round(samples_seen / elapsed, 2) if elapsed > 0 and samples_seen else None,
        "signature": signature, "resumed_from": str(resumed_from) if resumed_from else None,
    }
    if is_writer:
        with atomic_path(out_dir / "model_final.pdparams") as tmp:
            paddle.save(_final_weights(model, ema), str(tmp))
            summary["weights_sha256"] = sha256_file(tmp)
        if validation is not None:
            summary["validation"] = validation.summary()
        plot_curves(out_dir / "train_log.csv", out_dir / "curves.png",
                    val_log_path=out_dir / VAL_LOG if validation is not None else None)
        write_json(out_dir / "train_summary.json", summary, indent=True)
    if world_size > 1:
        dist.barrier()
    return summary


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

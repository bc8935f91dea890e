"""Train PP-TinyPose: one process per device; checkpoints, exact resume, CSV log, curves.

Single device (GPU when Paddle has CUDA and sees one, CPU otherwise):
    python -m tasks.keypoint.train --config configs/tinypose_128x96.yml \
        --train-ann <data_root>/annotations/aic_coco_train_cocoformat.json \
        --image-root <data_root> --out <data_root>/models/tinypose_128x96
Several GPUs, same entry point (one process per GPU; `train.batch_size` is per GPU). The
launcher takes a script path, not `-m`, so the project root must be importable:
    PYTHONPATH=. python -m paddle.distributed.launch --gpus 0,1,2,3 tasks/keypoint/train.py \
        --config ... --train-ann ... --image-root ... --out ...
Under the launcher every process trains on its DistributedBatchSampler share, gradients are
all-reduced by paddle.DataParallel, and only rank 0 writes files. (Checked here on CPU with
`--nproc_per_node 2`, gloo backend.)

`out_dir` receives: checkpoints/epoch_NNNN.pdckpt (every `snapshot_epoch` epochs, last
`keep_checkpoints` kept), train_log.csv (one row per optimizer step, flushed), curves.png,
config_used.yml, model_final.pdparams. Run again after a kill and it continues from the last
checkpoint: the step count, the lr of every step, the data order and the augmentation draws
are those of an uninterrupted run (the schedule is a function of the step; the sampler order
and the workers' random streams are functions of seed and epoch).
"""
import argparse
import csv
import random
import re
import time
from pathlib import Path

import numpy as np
import paddle
import paddle.distributed as dist

from tasks.common.atomic import atomic_path, write_json
from tasks.common.weights import load_state
from tasks.keypoint.builders import build_dataset, build_loader, build_model
from tasks.keypoint.config import dump_config, load_config
from tasks.keypoint.loss import KeypointMSELoss
from tasks.keypoint.schedule import StepSchedule

LOG_FIELDS = ("step", "epoch", "loss", "lr", "samples_per_s")
CHECKPOINT_RE = re.compile(r"^epoch_(\d{4,})\.pdckpt$")


def pick_device(device=None) -> str:
    """'gpu' when Paddle is built with CUDA and sees a GPU, else 'cpu' (or `device` as given)."""
    if device:
        return device
    if paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0:
        return "gpu"
    return "cpu"


def build_optimizer(config, model, steps_per_epoch, start_step=0):
    """Adam/AdamW with the warm-up + piecewise schedule of the config's `optimizer` section."""
    opt_cfg = config["optimizer"]
    schedule = StepSchedule(opt_cfg, steps_per_epoch, start_step=start_step)
    decay = float(opt_cfg["weight_decay"])
    if opt_cfg["type"] == "AdamW":
        optimizer = paddle.optimizer.AdamW(schedule, parameters=model.parameters(), weight_decay=decay)
    else:
        regularizer = paddle.regularizer.L2Decay(decay) if decay > 0 else None
        optimizer = paddle.optimizer.Adam(schedule, parameters=model.parameters(), weight_decay=regularizer)
    return optimizer, schedule


# ---------------------------------------------------------------- checkpoints

def list_checkpoints(ckpt_dir: Path) -> list:
    """Checkpoint files, oldest epoch first."""
    if not ckpt_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in ckpt_dir.iterdir() if (m := CHECKPOINT_RE.match(p.name))]
    return [p for _, p in sorted(found)]


def save_checkpoint(ckpt_dir: Path, model, optimizer, scaler, epoch: int, step: int, keep: int) -> Path:
    """Write model + optimizer + counters + RNG states atomically, then prune to `keep` files."""
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": epoch,            # epochs completed
        "step": step,              # optimizer steps completed
        "numpy_rng": np.random.get_state(),
        "python_rng": random.getstate(),
    }
    if scaler is not None:
        state["scaler"] = scaler.state_dict()
    path = ckpt_dir / f"epoch_{epoch:04d}.pdckpt"
    with atomic_path(path) as tmp:
        paddle.save(state, str(tmp))
    for old in list_checkpoints(ckpt_dir)[:-keep]:
        old.unlink()
    return path


def restore_checkpoint(state: dict, model, optimizer, scaler):
    """Restore model, optimizer, AMP scaler and host RNG states from a loaded checkpoint."""
    model.set_state_dict(state["model"])
    optimizer.set_state_dict(state["optimizer"])
    if scaler is not None and "scaler" in state:
        scaler.load_state_dict(state["scaler"])
    np.random.set_state(state["numpy_rng"])
    random.setstate(state["python_rng"])


# ---------------------------------------------------------------- log and curves

class StepLog:
    """train_log.csv, one row per optimizer step, flushed at once.

    On resume, rows of steps at or after the checkpoint (written by the killed run after
    its last checkpoint) are dropped first, so the file equals an uninterrupted run's.
    """

    def __init__(self, path: Path, start_step: int):
        self.path = path
        rows = []
        if start_step > 0 and path.exists():
            with path.open(newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) < start_step]
        with atomic_path(path) as tmp:
            with open(tmp, "w", newline="") as f:
                writer = csv.DictWriter(f, LOG_FIELDS)
                writer.writeheader()
                writer.writerows(rows)
        self._file = path.open("a", newline="")
        self._writer = csv.writer(self._file)

    def write(self, step, epoch, loss, lr, samples_per_s):
        self._writer.writerow([step, epoch, f"{loss:.6g}", f"{lr:.8g}", f"{samples_per_s:.1f}"])
        self._file.flush()

    def close(self):
        self._file.close()


def read_log(path) -> dict:
    """train_log.csv -> {field: numpy array}."""
    with Path(path).open(newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in LOG_FIELDS}


def plot_curves(log_path: Path, png_path: Path) -> Path:
    """Loss (with a moving average) and lr against the step, written as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log = read_log(log_path)
    fig, (ax_loss, ax_lr) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    ax_loss.plot(log["step"], log["loss"], lw=0.6, alpha=0.5, label="loss")
    window = max(1, len(log["loss"]) // 50)
    if len(log["loss"]) >= window > 1:
        smooth = np.convolve(log["loss"], np.ones(window) / window, mode="valid")
        ax_loss.plot(log["step"][window - 1:], smooth, lw=1.5, label=f"mean of {window}")
    ax_loss.set_ylabel("heatmap MSE")
    ax_loss.set_yscale("log")
    ax_loss.legend()
    ax_lr.plot(log["step"], log["lr"], color="tab:orange")
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_xlabel("step")
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return png_path


# ---------------------------------------------------------------- training

def _seed_everything(seed: int):
    random.seed(seed)
    np.random.seed(seed % 2**32)
    paddle.seed(seed)


def train(config: dict, train_ann: Path, image_root: Path, out_dir: Path, *, device=None,
          resume=True, max_epochs=None, progress=True, on_epoch=None) -> dict:
    """Train TinyPose on `train_ann` (COCO keypoints, file_name relative to `image_root`).

    config: a dict from `load_config`. resume: continue from the newest checkpoint in
    `out_dir/checkpoints` when there is one. max_epochs: stop after this many epochs in
    total (the lr schedule still follows `train.epochs`). on_epoch: called as
    on_epoch(epochs_done, epochs, last_loss) after each epoch (a Luigi node reports it as
    its status). Returns a summary dict (also written to out_dir/train_summary.json).
    """
    from tqdm import tqdm

    out_dir, train_cfg = Path(out_dir), config["train"]
    device = pick_device(device)
    paddle.set_device(device)
    world_size, rank = dist.get_world_size(), dist.get_rank()
    if world_size > 1:
        dist.init_parallel_env()
    is_writer = rank == 0
    seed = int(train_cfg["seed"])
    _seed_everything(seed + rank)

    dataset = build_dataset(config, train_ann, image_root, train=True)
    if len(dataset) == 0:
        raise ValueError(f"{train_ann}: no usable person (stats: {dataset.stats})")
    loader, sampler = build_loader(dataset, config, train=True, num_replicas=world_size, rank=rank)
    steps_per_epoch = len(sampler)
    model = build_model(config)
    criterion = KeypointMSELoss(config["loss"]["use_target_weight"], config["loss"]["loss_scale"])
    use_amp = bool(train_cfg["amp"]) and device.startswith("gpu")
    scaler = paddle.amp.GradScaler(init_loss_scaling=1024) if use_amp else None

    ckpt_dir = out_dir / "checkpoints"
    existing = list_checkpoints(ckpt_dir) if resume else []
    resumed_from = existing[-1] if existing else None
    state = paddle.load(str(resumed_from)) if resumed_from else {"epoch": 0, "step": 0}
    start_epoch, step = int(state["epoch"]), int(state["step"])
    optimizer, schedule = build_optimizer(config, model, steps_per_epoch, start_step=step)
    if resumed_from:
        restore_checkpoint(state, model, optimizer, scaler)
    elif train_cfg.get("pretrained"):  # e.g. PaddleDetection's released tinypose_*.pdparams
        load_state(model, str(train_cfg["pretrained"]))
    del state
    net = paddle.DataParallel(model) if world_size > 1 else model

    epochs = int(train_cfg["epochs"]) if max_epochs is None else min(int(max_epochs), int(train_cfg["epochs"]))
    log = None
    if is_writer:
        out_dir.mkdir(parents=True, exist_ok=True)
        dump_config(config, out_dir / "config_used.yml")
        log = StepLog(out_dir / "train_log.csv", start_step=step)
    bar = tqdm(total=epochs * steps_per_epoch, initial=step, unit="step", dynamic_ncols=True,
               disable=not (progress and is_writer), desc=config["name"])
    started, samples_seen, last_loss = time.perf_counter(), 0, float("nan")
    net.train()
    try:
        for epoch in range(start_epoch, epochs):
            tick = time.perf_counter()
            dataset.set_epoch(epoch)
            sampler.set_epoch(epoch)
            for batch in loader:
                lr = schedule()
                with paddle.amp.auto_cast(enable=use_amp, level="O1"):
                    heatmaps = net(batch["image"])
                    loss = criterion(heatmaps.astype("float32"), batch["target"], batch["target_weight"])
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
                optimizer.clear_grad()
                schedule.step()
                last_loss = float(loss)
                batch_samples = int(batch["image"].shape[0]) * world_size
                now = time.perf_counter()
                rate = batch_samples / max(now - tick, 1e-9)
                tick, samples_seen = now, samples_seen + batch_samples
                if log is not None:
                    log.write(step, epoch, last_loss, lr, rate)
                step += 1
                bar.set_postfix(epoch=epoch, loss=f"{last_loss:.3e}", lr=f"{lr:.2e}", samples_s=f"{rate:.1f}")
                bar.update(1)
            done = epoch + 1
            if is_writer and (done % int(train_cfg["snapshot_epoch"]) == 0 or done == epochs):
                save_checkpoint(ckpt_dir, model, optimizer, scaler, done, step, int(train_cfg["keep_checkpoints"]))
            if on_epoch is not None and is_writer:
                on_epoch(done, epochs, last_loss)
    finally:
        bar.close()
        if log is not None:
            log.close()
    elapsed = time.perf_counter() - started
    summary = {
        "name": config["name"], "device": device, "world_size": world_size,
        "epochs": epochs, "steps": step, "steps_per_epoch": steps_per_epoch,
        "samples": len(dataset), "final_loss": last_loss,
        "seconds_this_run": round(elapsed, 2),
        "samples_per_s_this_run": round(samples_seen / elapsed, 2) if elapsed > 0 and samples_seen else None,
        "resumed_from": str(resumed_from) if resumed_from else None,
    }
    if is_writer:
        with atomic_path(out_dir / "model_final.pdparams") as tmp:
            paddle.save(model.state_dict(), str(tmp))
        plot_curves(out_dir / "train_log.csv", out_dir / "curves.png")
        write_json(out_dir / "train_summary.json", summary, indent=True)
    if world_size > 1:
        dist.barrier()
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train PP-TinyPose (one process per device).")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--train-ann", required=True, type=Path, help="COCO keypoint json")
    parser.add_argument("--image-root", required=True, type=Path, help="folder file_name is relative to")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--device", default=None, help="cpu or gpu (default: gpu if available)")
    parser.add_argument("--no-resume", action="store_true", help="ignore existing checkpoints")
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    summary = train(load_config(args.config), args.train_ann, args.image_root, args.out, device=args.device,
                    resume=not args.no_resume, max_epochs=args.max_epochs, progress=not args.no_progress)
    if dist.get_rank() == 0:
        print(" ".join(f"{k}={v}" for k, v in summary.items()))


if __name__ == "__main__":
    main()

"""One training engine for every model of the project (TinyPose, PicoDet).

    from tasks.engine import TrainAdapter, TrainData, train
    summary = train(adapter, config, out_dir, signature=digest, device=None, resume=True,
                    max_epochs=None, progress=True, on_epoch=None)

The loop: seeding (`train.seed` + rank), device pick (a GPU when Paddle sees one),
`paddle.distributed.launch` (one process per device, each on its DistributedBatchSampler
share, gradients all-reduced by paddle.DataParallel, rank 0 writes every file), AMP O1 with a
GradScaler on GPU (`train.amp`), the optimizer and lr schedule of the config's `optimizer`
section (tasks.engine.optimizer, tasks.engine.schedule: Adam/AdamW + piecewise for TinyPose,
Momentum + L2 + cosine for PicoDet, both with linear warm-up), EMA of the weights
(`train.use_ema`, `train.ema_decay`; tasks.engine.ema), a progress bar with samples/s and ETA (on a terminal).
`out_dir` receives config_used.yml, train_log.csv (one row per step: step, epoch, lr and every
loss component), curves.png, model_final.pdparams (the EMA weights when EMA is on),
train_summary.json, and checkpoints/<signature[:16]>/epoch_NNNN.pdckpt (every
`train.snapshot_epoch` epochs and at the last one; the newest `train.keep_checkpoints` per
signature, at most `train.keep_signatures` (default 3) signatures, least recently used pruned;
tasks.engine.checkpoints). A checkpoint holds model, optimizer, EMA, AMP scaler, step and
epoch counters and the random states, so a resumed run is the uninterrupted run: on CPU with a
fixed seed the same per-step losses and the same final weights, bit for bit, provided the
adapter's data are a function of (seed, epoch, index) as described below.

The adapter (a `TrainAdapter` subclass) is the model-specific part, a small file per model
(tasks/keypoint/train.py for TinyPose, tasks/detection/train.py for PicoDet). It defines
`build_train_data(num_replicas, rank) -> TrainData(loader, sampler, dataset)`: this process'
loader over a paddle.io.DistributedBatchSampler(num_replicas, rank); the engine calls
`sampler.set_epoch(e)` and `dataset.set_epoch(e)` (when the dataset has one) before epoch e,
and for an exact resume every random draw of the data (order, augmentation, batch-level draws
such as a random resize size) must be a function of the seed, the epoch and the sample or
batch index, not of a stream that runs across epochs. `build_model() -> paddle.nn.Layer`,
called after `build_train_data`, under `paddle.seed(train.seed + rank)`. `losses(model, batch,
epoch) -> dict` of scalar tensors with the total under "loss" (minimised) and any named parts
(logged as columns in that order); `model` may be the paddle.DataParallel wrapper, so call it
for the forward pass and keep any other reference to the bare network on the adapter; the
call runs under AMP autocast on GPU, so cast outputs to float32 before a loss that needs it;
`epoch` is the 0-based epoch, for losses that change with it (PicoDet: ATSS assignment before
`static_assigner_epoch`, TaskAligned after). Optional: `batch_samples(batch)` (default
`batch["image"].shape[0]`), `load_pretrained(model, path)` (the start weights of a fresh run
from `train.pretrained`; default a strict tasks.common.weights.load_state) and the class
attribute `find_unused_parameters` (paddle.DataParallel's flag), and `validate(model, epoch) ->
{metric: value}` (the model's own evaluation on a val list) for `eval.interval`: every that many
epochs the writer scores a copy holding the final-weights-so-far into val_log.csv and keeps the
best by `eval.key_metric` in model_best.pdparams (tasks.engine.validation). The engine reads
from the config only `name`, `train` (epochs, snapshot_epoch, keep_checkpoints, keep_signatures,
amp, seed, pretrained, use_ema, ema_decay), `optimizer` and `eval.interval` / `eval.key_metric`;
everything else is the adapter's.
An adapter built as `AdapterClass(config, train_ann, image_root, val_ann, val_image_root)` gets
its `train(...)` on a COCO list and its command line from tasks.engine.entry (train_on_list,
run_cli, training_signature), so a model's training module is its adapter and two one-line functions.
"""
from tasks.engine.adapter import TrainAdapter, TrainData
from tasks.engine.loop import train

__all__ = ["TrainAdapter", "TrainData", "train"]

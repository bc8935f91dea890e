"""What a model's training module exposes, on top of its adapter: training on a COCO list and its CLI.

An adapter class built as `AdapterClass(config, train_ann, image_root, val_ann=None,
val_image_root=None)` (COCO jsons whose file_name entries are relative to the image roots;
the val list is what `eval.interval` scores during training) gets both:

    def train(config, train_ann, image_root, out_dir, **options):
        return train_on_list(TinyPoseTraining, config, train_ann, image_root, out_dir, **options)

    def main(argv=None):
        run_cli(TinyPoseTraining, load_config, "Train PP-TinyPose (one process per device).", argv)
"""
import argparse
from pathlib import Path

import orjson
import paddle.distributed as dist

from tasks.common.config import add_overrides_argument, config_from_args
from tasks.common.fingerprint import sha256_bytes, sha256_file
from tasks.common.validation import training_eval
from tasks.engine.launch import EPOCH_LINE
from tasks.engine.loop import train
from tasks.engine.pretrain import locate_pretrain_weights


#: config keys that name where things are or which devices run, not what the weights are
#: (the signature has the files' sha256 and the process count instead)
PLACE_KEYS = ("pretrained", "pretrain_weights", "devices")


def training_signature(config: dict, train_ann, world_size: int = 1, pretrain_sha256=None) -> str:
    """Digest of what trained weights are a function of; the node and the command line (under the
    launcher or not) compute it alike, so they share checkpoints and each finds the other's
    training complete: the config without `eval` (but for `eval.interval` and `eval.key_metric`
    while the run validates: tasks.common.validation.training_eval) and without the PLACE_KEYS
    of `train`, the training list's content, the number of processes (the batch is per process)
    and the sha256 of `train.pretrained` and of `train.pretrain_weights`. The val list is not
    in it: the trained weights do not depend on it."""
    train_cfg = config["train"]
    pretrained = train_cfg.get("pretrained")
    validation = training_eval(config)
    return sha256_bytes(orjson.dumps({
        "config": {**{k: v for k, v in config.items() if k not in ("eval", "train")},
                   "train": {k: v for k, v in train_cfg.items() if k not in PLACE_KEYS},
                   **({"eval": validation} if validation else {})},
        "train_ann_sha256": sha256_file(train_ann),
        "pretrained_sha256": sha256_file(pretrained) if pretrained else None,
        "pretrain_weights_sha256": pretrain_sha256,
        "world_size": int(world_size),
    }, option=orjson.OPT_SORT_KEYS))


def train_on_list(adapter_class, config: dict, train_ann, image_root, out_dir, *, weights_dir=None,
                  val_ann=None, val_image_root=None, **options) -> dict:
    """Train `adapter_class(config, train_ann, image_root, val_ann, val_image_root)` into
    `out_dir` (tasks.engine.train), its checkpoints named by `training_signature`. weights_dir:
    where a remote `train.pretrain_weights` is fetched (default: downloads/pretrained beside
    out_dir's parent, i.e. <data_root>/downloads/pretrained for out_dir <data_root>/models/<name>).
    val_ann, val_image_root: the val list `eval.interval` scores (required when it is set).
    options: device, resume, max_epochs, progress, on_epoch."""
    out_dir = Path(out_dir)
    if training_eval(config) and not (val_ann and val_image_root):
        raise ValueError(f"{config['name']}: eval.interval is set but no val list was given "
                         "(val_ann and val_image_root; on the command line --val-ann and --val-image-root)")
    pretrain_path, pretrain_sha = locate_pretrain_weights(config["train"], weights_dir or default_weights_dir(out_dir))
    signature = training_signature(config, train_ann, dist.get_world_size(), pretrain_sha)
    val = {"val_ann": Path(val_ann), "val_image_root": Path(val_image_root)} if training_eval(config) else {}
    return train(adapter_class(config, Path(train_ann), Path(image_root), **val), config, out_dir,
                 signature=signature, pretrain_weights=pretrain_path, **options)


def default_weights_dir(out_dir) -> Path:
    return Path(out_dir).resolve().parent.parent / "downloads" / "pretrained"


def print_epoch(done: int, total: int, loss: float):
    """The line a launched run prints per epoch (rank 0); tasks.engine.launch reads it back."""
    print(f"{EPOCH_LINE} {done}/{total} loss {loss:.6e}", flush=True)


def run_cli(adapter_class, load_config, description: str, argv=None):
    """The command line of a model's training module (same arguments for every model)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--train-ann", required=True, type=Path, help="COCO json")
    parser.add_argument("--image-root", required=True, type=Path, help="folder file_name is relative to")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--device", default=None, help="cpu or gpu (default: gpu if available)")
    parser.add_argument("--no-resume", action="store_true", help="discard this signature's checkpoints")
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--val-ann", type=Path, default=None,
                        help="COCO json scored every eval.interval epochs (needed when it is set)")
    parser.add_argument("--val-image-root", type=Path, default=None, help="folder the val file_name is relative to")
    parser.add_argument("--weights-dir", type=Path, default=None,
                        help="where a remote train.pretrain_weights is fetched (default: "
                             "<out>/../../downloads/pretrained)")
    add_overrides_argument(parser)
    args = parser.parse_args(argv)
    summary = train_on_list(adapter_class, config_from_args(parser, load_config, args), args.train_ann, args.image_root, args.out,
                            device=args.device, resume=not args.no_resume, max_epochs=args.max_epochs,
                            progress=not args.no_progress, weights_dir=args.weights_dir,
                            val_ann=args.val_ann, val_image_root=args.val_image_root,
                            on_epoch=print_epoch)
    if dist.get_rank() == 0:
        print(" ".join(f"{k}={v}" for k, v in summary.items()))

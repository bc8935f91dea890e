"""What a model's training module exposes, on top of its adapter: training on a COCO list and its CLI.

An adapter class built as `AdapterClass(config, train_ann, image_root)` (a COCO json whose
file_name entries are relative to image_root) gets both:

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
from tasks.engine.loop import train


def training_signature(config: dict, train_ann) -> str:
    """Digest of what trained weights are a function of, for a caller without its own (the CLI):
    the config without `eval`, the training list's content and the `train.pretrained` file's."""
    pretrained = config["train"].get("pretrained")
    return sha256_bytes(orjson.dumps({
        "config": {k: v for k, v in config.items() if k != "eval"},
        "train_ann_sha256": sha256_file(train_ann),
        "pretrained_sha256": sha256_file(pretrained) if pretrained else None,
    }, option=orjson.OPT_SORT_KEYS))


def train_on_list(adapter_class, config: dict, train_ann, image_root, out_dir, *, signature=None,
                  **options) -> dict:
    """Train `adapter_class(config, train_ann, image_root)` into `out_dir` (tasks.engine.train).
    signature: names the checkpoints to resume (default `training_signature`).
    options: device, resume, max_epochs, progress, on_epoch."""
    signature = signature or training_signature(config, train_ann)
    return train(adapter_class(config, Path(train_ann), Path(image_root)), config, out_dir, signature=signature,
                 **options)


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
    add_overrides_argument(parser)
    args = parser.parse_args(argv)
    summary = train_on_list(adapter_class, config_from_args(parser, load_config, args), args.train_ann, args.image_root, args.out,
                            device=args.device, resume=not args.no_resume, max_epochs=args.max_epochs,
                            progress=not args.no_progress)
    if dist.get_rank() == 0:
        print(" ".join(f"{k}={v}" for k, v in summary.items()))

"""Throughput of the PicoDet training data pipeline at 320 on one CPU core, images/s.

PaddleDetection's TrainReader for picodet_s_320_lcnet_pedestrian, from
configs/picodet_s_320_pedestrian.yml: RandomCrop -> RandomFlip -> RandomDistort per image,
then per batch BatchRandomResize (256..384, random interpolation) -> NormalizeImage ->
Permute -> PadGT and the stacking into arrays (``tasks.detection.dataset.DetectionCollate``).
Input: a decoded 640x480 uint8 RGB image (np.random.default_rng(0).integers(0, 256); the
decode itself, LoadImage, is left out) with three person boxes; each sample deep-copies
the record and the image (the dataset hands out a fresh one per sample) and gets its own
numpy Generator, as in training. One core: CPU affinity {0}, cv2 and OMP threads 1.
Median of --runs runs of --batches batches of --batch-size images.

    .venv/bin/python bench/detection_transforms.py [--batches 20] [--batch-size 16] [--runs 3]

Last line: key=value figures (images/s per core, and the per-stage split).
"""
import os

os.environ["OMP_NUM_THREADS"] = "1"
os.sched_setaffinity(0, {0})

import argparse  # noqa: E402
import copy  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
cv2.setNumThreads(1)

from tasks.detection.config import load_config  # noqa: E402
from tasks.detection.dataset import DetectionCollate  # noqa: E402
from tasks.detection.transforms import TRANSFORMS  # noqa: E402
from tasks.transforms import Compose, LoadImage  # noqa: E402

CONFIG = REPO / "configs" / "picodet_s_320_pedestrian.yml"
BOXES = np.array([[220, 60, 420, 440], [40, 200, 120, 420], [500, 150, 600, 460]], np.float32)


class SeededBatches:
    """What DetectionCollate asks of its dataset: one generator per batch."""

    def rng(self, *key):
        return np.random.default_rng([7, *key])


def pipelines(config):
    """(sample transforms without LoadImage, batch collate) of the config's training pipelines."""
    data = config["data"]
    defaults = {"input_size": config["model"]["input_size"], "mean": data["mean"], "std": data["std"]}
    entries = [e for e in data["train_pipeline"] if e["type"] != LoadImage.__name__]
    sample = Compose(TRANSFORMS.build_all(entries, defaults, where="data/train_pipeline"))
    batch = TRANSFORMS.build_all(data["train_batch_pipeline"], defaults, where="data/train_batch_pipeline")
    return sample, DetectionCollate(batch, SeededBatches())


def run(sample, collate, record, batches, batch_size):
    """(images/s, seconds in sample transforms, seconds in batch transforms)."""
    sample_s = batch_s = 0.0
    for b in range(batches):
        start = time.perf_counter()
        samples = []
        for i in range(batch_size):
            index = b * batch_size + i
            results = copy.deepcopy(record)
            results.update(index=index, rng=np.random.default_rng([42, index]))
            samples.append(sample(results))
        middle = time.perf_counter()
        collate(samples)
        end = time.perf_counter()
        sample_s += middle - start
        batch_s += end - middle
    return batches * batch_size / (sample_s + batch_s), sample_s, batch_s


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    config = load_config(CONFIG)
    sample, collate = pipelines(config)
    image = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    record = {"image": image, "gt_bbox": BOXES.copy(), "gt_class": np.zeros((3, 1), np.int32),
              "ignore_bbox": np.zeros((0, 4), np.float32), "image_id": 1}
    load_start = os.getloadavg()[0]
    runs = [run(sample, collate, record, args.batches, args.batch_size) for _ in range(args.runs)]
    rates = sorted(r[0] for r in runs)
    median = runs[[r[0] for r in runs].index(rates[len(rates) // 2])]
    images = args.batches * args.batch_size
    print(f"{config['name']}: {args.runs} runs of {images} images, images/s per run "
          f"{[round(r[0], 1) for r in runs]}")
    print(" ".join(f"{k}={v}" for k, v in {
        "images_per_s": round(median[0], 1),
        "sample_transforms_ms_per_image": round(1000 * median[1] / images, 2),
        "batch_transforms_ms_per_image": round(1000 * median[2] / images, 2),
        "batch_size": args.batch_size, "cores": 1,
        "load1_start": f"{load_start:.2f}", "load1_end": f"{os.getloadavg()[0]:.2f}"}.items()))


if __name__ == "__main__":
    main()

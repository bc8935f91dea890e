"""How fast the training loaders feed a GPU: samples/s per CPU core, and the loader workers a GPU
step of a given time needs.

Input: generated JPEGs at COCO's typical size (640x480, quality 90, textured: noise over colour
gradients, so they decode like photos, not like flat test cards), each with 3 persons (box and
17 visible keypoints). Each model's training loader as training builds it (configs/<name>.yml:
decode + the full train pipeline; PicoDet also its batch pipeline), one process, no workers
(data.num_workers 0), on one core (CPU affinity {0}, OMP and cv2 threads 1): samples/s per
core. A GPU step of --gpu-step-ms on a per-device batch of `train.batch_size` needs
batch / step samples/s, so ceil(that / per-core rate) loader workers per device.

    .venv/bin/python bench/train_loader.py [--images 60] [--batches 6] [--gpu-step-ms 250]

Last line: key=value figures.
"""
import os

os.environ["OMP_NUM_THREADS"] = "1"
os.sched_setaffinity(0, {0})

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
cv2.setNumThreads(1)

from tasks.common.loader import build_loader  # noqa: E402
from tasks.detection.dataset import build_detection_loader  # noqa: E402
from tasks.keypoint.builders import build_dataset  # noqa: E402
from tasks.models import load_model_config  # noqa: E402

MODELS = {"tinypose_128x96": "tinypose_128x96", "tinypose_256x192": "tinypose_256x192",
          "picodet_320": "picodet_s_320_pedestrian"}
WIDTH, HEIGHT = 640, 480
# A standing person in a 100x250 box, COCO keypoint order, relative to the box's top-left.
POSE = np.array([[50, 20], [56, 14], [44, 14], [62, 18], [38, 18], [75, 60], [25, 60], [85, 105], [15, 105],
                 [88, 145], [12, 145], [65, 150], [35, 150], [65, 200], [35, 200], [65, 245], [35, 245]], float)


def textured_image(rng) -> np.ndarray:
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    base = np.stack([x * 255 / WIDTH, y * 255 / HEIGHT, (x + y) * 127 / (WIDTH + HEIGHT)], axis=-1)
    return np.clip(base + rng.normal(0, 40, (HEIGHT, WIDTH, 3)), 0, 255).astype(np.uint8)


def write_dataset(folder: Path, count: int) -> Path:
    """`count` textured JPEGs with 3 persons each, and their COCO keypoint file."""
    rng = np.random.default_rng(0)
    (folder / "images").mkdir(parents=True)
    images, annotations = [], []
    for image_id in range(1, count + 1):
        name = f"images/{image_id:06d}.jpg"
        cv2.imwrite(str(folder / name), textured_image(rng), [cv2.IMWRITE_JPEG_QUALITY, 90])
        images.append({"id": image_id, "file_name": name, "width": WIDTH, "height": HEIGHT})
        for left in (40, 260, 480):
            top = int(rng.integers(20, 200))
            points = POSE + (left, top)
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                                "bbox": [left, top, 100, 250], "area": 25000.0, "num_keypoints": 17,
                                "keypoints": [v for x, y in points for v in (float(x), float(y), 2)]})
    document = {"images": images, "annotations": annotations,
                "categories": [{"id": 1, "name": "person", "supercategory": "person",
                                "keypoints": [f"k{i}" for i in range(17)], "skeleton": []}]}
    path = folder / "train.json"
    path.write_text(json.dumps(document))
    return path


def loader_for(key, config, ann, root):
    config["data"]["num_workers"] = 0
    if key.startswith("picodet"):
        loader, sampler, dataset = build_detection_loader(config, ann, root, train=True)
    else:
        dataset = build_dataset(config, ann, root, train=True)
        loader, sampler = build_loader(dataset, config, train=True)
    sampler.set_epoch(0)
    dataset.set_epoch(0)
    return loader


def samples_per_s(key, ann, root, batches) -> float:
    config = load_model_config(REPO / "configs" / f"{MODELS[key]}.yml")
    config["train"]["batch_size"] = 16                 # the rate per sample does not depend on it
    loader = loader_for(key, config, ann, root)
    batches_iter = (batch for _ in iter(int, 1) for batch in loader)   # epoch after epoch
    next(batches_iter)                                  # warm-up: imports, first allocations
    start, samples = time.perf_counter(), 0
    for _ in range(batches):
        batch = next(batches_iter)
        samples += int(batch["image"].shape[0])
    return samples / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--batches", type=int, default=6, help="timed batches of 16 per model")
    parser.add_argument("--gpu-step-ms", type=float, default=250.0, help="one training step on the GPU")
    args = parser.parse_args()
    figures = {"load_1min_before": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp:
        ann = write_dataset(Path(tmp), args.images)
        for key in MODELS:
            rate = samples_per_s(key, ann, Path(tmp), args.batches)
            batch = load_model_config(REPO / "configs" / f"{MODELS[key]}.yml")["train"]["batch_size"]
            needed = batch / (args.gpu_step_ms / 1000)
            figures[f"{key}_samples_per_s_core"] = round(rate, 1)
            figures[f"{key}_workers_per_gpu"] = math.ceil(needed / rate)
            print(f"{key}: {rate:.1f} samples/s per core; batch {batch} per GPU in {args.gpu_step_ms:.0f} ms "
                  f"needs {needed:.0f} samples/s = {math.ceil(needed / rate)} workers per GPU", flush=True)
    figures["load_1min_after"] = round(os.getloadavg()[0], 2)
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()

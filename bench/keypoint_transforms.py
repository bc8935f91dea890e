"""Throughput of the TinyPose training data pipeline on one CPU core, samples/s.

Same input and protocol as PaddleDetection's figures in
tests/data/reference/transforms_throughput.json: a decoded 640x480 uint8 RGB
image (np.random.default_rng(0).integers(0, 256)), one person box xywh
(220, 60, 200, 380) with 17 visible keypoints, center/scale by the _box2cs
rule; each sample deep-copies the record and the image (as the dataset does
per sample: it decodes a fresh image) and gets its own numpy Generator. Then
RandomFlipHalfBody -> InformationDropping -> TopDownAffine (UDP) ->
GenerateTarget (DarkHeatmap) -> NormalizeImage -> Permute -> PackInputs, with
PP-TinyPose's numbers (sigma 1 at 128x96, 2 at 256x192). One core: CPU
affinity {0}, cv2 and OMP threads 1. Median of --runs runs of --samples samples.

    .venv/bin/python bench/keypoint_transforms.py [--samples 500] [--runs 3]

Last line: key=value figures (samples/s and the speed-up over PaddleDetection).
"""
import os

os.environ["OMP_NUM_THREADS"] = "1"
os.sched_setaffinity(0, {0})

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
cv2.setNumThreads(1)

from tasks.keypoint.builders import build_transforms  # noqa: E402
from tasks.keypoint.config import load_config  # noqa: E402
from tasks.keypoint.geometry import boxes_to_centers_scales  # noqa: E402
from tasks.transforms import Compose, LoadImage  # noqa: E402

REFERENCE = REPO / "tests" / "data" / "reference" / "transforms_throughput.json"
CONFIGS = ("tinypose_128x96", "tinypose_256x192")  # configs/<name>.yml: their train pipelines, sans LoadImage
BOX = (220.0, 60.0, 200.0, 380.0)
# A standing person inside BOX, COCO order.
KEYPOINTS = np.array([[320, 100], [330, 90], [310, 90], [340, 95], [300, 95], [360, 150], [280, 150],
                      [375, 210], [265, 210], [380, 260], [260, 260], [345, 270], [295, 270],
                      [345, 350], [295, 350], [345, 420], [295, 420]], dtype=np.float32)


def make_record(input_size):
    (center,), (scale,) = boxes_to_centers_scales([BOX], input_size)
    return {"center": center, "scale": scale, "keypoints": KEYPOINTS.copy(),
            "keypoints_visible": np.ones(17, np.float32), "image_id": 1, "ann_id": 1, "score": 1.0}


def run(pipeline, record, image, samples, seed):
    start = time.perf_counter()
    for i in range(samples):
        results = copy.deepcopy(record)
        results["image"] = image.copy()
        results["rng"] = np.random.default_rng([seed, i])
        pipeline(results)
    return samples / (time.perf_counter() - start)


def per_operator_ms(pipeline, record, image, samples):
    totals = np.zeros(len(pipeline.transforms) + 1)
    for i in range(samples):
        t0 = time.perf_counter()
        results = copy.deepcopy(record)
        results["image"] = image.copy()
        results["rng"] = np.random.default_rng([7, i])
        totals[0] += time.perf_counter() - t0
        for k, transform in enumerate(pipeline.transforms, 1):
            t0 = time.perf_counter()
            results = transform(results)
            totals[k] += time.perf_counter() - t0
    names = ["copy_record_and_image"] + [type(t).__name__ for t in pipeline.transforms]
    return {name: round(1000 * total / samples, 4) for name, total in zip(names, totals)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    image = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    reference = json.loads(REFERENCE.read_text())["models"] if REFERENCE.exists() else {}
    figures, report = {}, {}
    for name in CONFIGS:
        config = load_config(REPO / "configs" / f"{name}.yml")
        input_size = config["model"]["input_size"]
        pipeline = Compose([t for t in build_transforms(config, train=True).transforms if not isinstance(t, LoadImage)])
        record = make_record(input_size)
        run(pipeline, record, image, 50, seed=99)  # warm-up
        rates = [run(pipeline, record, image, args.samples, seed=r) for r in range(args.runs)]
        median = float(np.median(rates))
        ops = per_operator_ms(pipeline, record, image, args.samples)
        ref = reference.get(name, {}).get("full_pipeline_samples_per_s", {}).get("median")
        report[name] = {"samples_per_s_median": median, "samples_per_s_runs": rates,
                        "per_operator_ms_per_sample": ops, "paddledetection_samples_per_s": ref}
        print(f"{name}: {median:.1f} samples/s (runs {', '.join(f'{r:.1f}' for r in rates)})"
              + (f", PaddleDetection {ref:.1f} -> x{median / ref:.2f}" if ref else ""))
        print("  ms/sample: " + ", ".join(f"{k} {v:.3f}" for k, v in ops.items()))
        figures[f"{name}_samples_per_s"] = round(median, 1)
        if ref:
            figures[f"{name}_speedup"] = round(median / ref, 2)
    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    report["setup"] = {"cpu_affinity": sorted(os.sched_getaffinity(0)), "cv2_threads": cv2.getNumThreads(),
                       "opencv": cv2.__version__, "numpy": np.__version__,
                       "samples": args.samples, "runs": args.runs}
    (out / "keypoint_transforms.json").write_text(json.dumps(report, indent=1))
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()

"""Scale benchmark of the annotation merge (issue 2, point 8).

Generates a synthetic full-size workload with realistic field sizes
(COCO train2017 person keypoints: 118,287 images / 262,465 annotations with
polygon segmentations and ~1% crowd RLEs; converted AIC train: 210,000 images /
378,000 humans, as written by tasks.annotations.aic_to_coco), then, each in its
own fresh subprocess:

* floor: orjson.loads of both input files (read from disk), the output document
  built by concatenating the input record lists (no rules), orjson.dumps of it and
  the write to disk;
* merge: tasks.annotations.merge.merge(), the function the Luigi node calls,
  from the same input files to the written merged file, lineage CSV and report.

Inputs are the COCO json and the *converted* AIC json (the AIC conversion is
another node, with its own image-header reads). Times exclude interpreter start
and imports; peak RSS is each subprocess's ru_maxrss. The floor's output is ~8%
larger than the merged file (it keeps the AIC ``aic_id`` fields the merge moves to
the lineage). Floor and merge run interleaved ``--repeat`` times and the best time
of each is reported (other processes on a shared machine only ever add time).

    .venv/bin/python bench/merge_scale.py [--scale 1.0] [--workdir DIR] [--keep]

Last line: merge_s=... floor_s=... ratio=... peak_rss_gb=... floor_rss_gb=...
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scratch import scratch_folder  # noqa: E402
from tasks.common.coco import NUM_JOINTS, person_category  # noqa: E402

COCO_IMAGES, COCO_PERSONS = 118_287, 262_465
AIC_IMAGES, AIC_HUMANS = 210_000, 378_000
POLYGON_POINTS = 36  # x, y pairs per COCO person polygon (~500 bytes, like the real file)


def _keypoints(rng, n, width, height, face=True):
    """(n, 51) int keypoints inside the image with consistent visibility, and num_keypoints."""
    vis = rng.choice([0, 1, 2], size=(n, NUM_JOINTS), p=[0.45, 0.15, 0.40])
    if not face:
        vis[:, :5] = 0
    xs = rng.integers(0, width + 1, size=(n, NUM_JOINTS)) * (vis > 0)
    ys = rng.integers(0, height + 1, size=(n, NUM_JOINTS)) * (vis > 0)
    kps = np.stack([xs, ys, vis], axis=2).reshape(n, 3 * NUM_JOINTS)
    return kps.tolist(), (vis > 0).sum(1).tolist()


def coco_like(n_images, n_anns, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(600_000, size=n_images, replace=False)).tolist()
    images = [{"license": 3, "file_name": f"{i:012d}.jpg",
               "coco_url": f"http://images.cocodataset.org/train2017/{i:012d}.jpg",
               "height": 480, "width": 640, "date_captured": "2013-11-14 11:18:45",
               "flickr_url": f"http://farm4.staticflickr.com/3153/{i:010d}_d4f1c5e8b2_z.jpg",
               "id": i} for i in ids]
    owner = rng.integers(0, n_images, size=n_anns).tolist()
    kps, nums = _keypoints(rng, n_anns, 640, 480)
    boxes = np.round(rng.uniform([0, 0, 1, 1], [320, 240, 320, 240], (n_anns, 4)), 2).tolist()
    polys = np.round(rng.uniform(0, 480, (n_anns, 2 * POLYGON_POINTS)), 2).tolist()
    areas = np.round(rng.uniform(10, 50_000, n_anns), 4).tolist()
    crowd = (rng.random(n_anns) < 0.01).tolist()
    anns = []
    for k in range(n_anns):
        if crowd[k]:
            seg = {"counts": [int(c) for c in rng.integers(1, 500, 2 * POLYGON_POINTS)],
                   "size": [480, 640]}
            kp, num = [0] * 51, 0
        else:
            seg, kp, num = [polys[k]], kps[k], nums[k]
        anns.append({"segmentation": seg, "num_keypoints": num, "area": areas[k],
                     "iscrowd": int(crowd[k]), "keypoints": kp, "image_id": ids[owner[k]],
                     "bbox": boxes[k], "category_id": 1, "id": 900_000 + k})
    return {"info": {"description": "synthetic COCO-like"}, "licenses": [],
            "images": images, "annotations": anns, "categories": [person_category()]}


def aic_like(n_images, n_humans, seed=1):
    rng = np.random.default_rng(seed)
    sha = [f"{h:040x}" for h in rng.integers(0, 2 ** 62, size=n_images).tolist()]
    images = [{"id": i + 1, "file_name": f"aic/train/{s}.jpg", "width": 800, "height": 600,
               "aic_id": s} for i, s in enumerate(sha)]
    owner = np.sort(rng.integers(0, n_images, size=n_humans)).tolist()
    kps, nums = _keypoints(rng, n_humans, 800, 600, face=False)
    x1y1 = rng.integers(0, 400, (n_humans, 2))
    wh = rng.integers(1, 200, (n_humans, 2))
    boxes = np.concatenate([x1y1, wh], 1).tolist()
    areas = (wh[:, 0] * wh[:, 1]).tolist()
    anns = [{"id": k + 1, "image_id": owner[k] + 1, "category_id": 1, "keypoints": kps[k],
             "num_keypoints": nums[k], "bbox": boxes[k], "area": areas[k], "iscrowd": 0,
             "aic_id": f"{sha[owner[k]]}/human{k % 3 + 1}"} for k in range(n_humans)]
    return {"images": images, "annotations": anns, "categories": [person_category()]}


FLOOR = """
import gc, os, resource, sys, time, orjson
if os.environ.get("FLOOR_GC") == "off":
    gc.disable()
from pathlib import Path
inputs, out = [Path(p) for p in sys.argv[1:-1]], Path(sys.argv[-1])
t0 = time.perf_counter()
docs = [orjson.loads(p.read_bytes()) for p in inputs]
merged = {"info": {}, "images": [r for d in docs for r in d["images"]],
          "annotations": [r for d in docs for r in d["annotations"]],
          "categories": docs[0]["categories"]}
out.write_bytes(orjson.dumps(merged))
seconds = time.perf_counter() - t0
print(orjson.dumps({"s": seconds, "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}).decode())
"""

MERGE = """
import resource, sys, time, orjson
sys.path.insert(0, sys.argv[1])
from tasks.annotations.merge import merge
coco, aic, out = sys.argv[2], sys.argv[3], sys.argv[4]
t0 = time.perf_counter()
report = merge(coco, [aic], out, out + ".lineage.csv", out + ".report.json", aic_names=["aic_train"])
seconds = time.perf_counter() - t0
print(orjson.dumps({"s": seconds, "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                    "images": report["images"], "annotations": report["annotations"]}).decode())
"""


def _run(code, *args, env=None):
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], check=True,
                          stdout=subprocess.PIPE, text=True, env=env)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size")
    parser.add_argument("--workdir", type=Path, default=None, help="where the workload is written")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of floor/merge runs; the best time of each is reported")
    args = parser.parse_args()
    with scratch_folder("merge_scale_", args.workdir, args.keep) as work:
        t0 = time.perf_counter()
        coco, aic = work / "person_keypoints_train2017.json", work / "aic_train_coco.json"
        coco.write_bytes(orjson.dumps(coco_like(round(COCO_IMAGES * args.scale),
                                                round(COCO_PERSONS * args.scale))))
        aic.write_bytes(orjson.dumps(aic_like(round(AIC_IMAGES * args.scale),
                                              round(AIC_HUMANS * args.scale))))
        print(f"generated in {time.perf_counter() - t0:.1f} s: {coco.name} "
              f"{coco.stat().st_size / 2**20:.0f} MiB, {aic.name} {aic.stat().st_size / 2**20:.0f} MiB",
              flush=True)
        merged_path = work / "merged.json"
        floors, nogcs, runs = [], [], []
        for round_ in range(args.repeat):  # interleaved, so load from other processes hits all
            floors.append(_run(FLOOR, coco, aic, work / "floor_out.json"))
            nogcs.append(_run(FLOOR, coco, aic, work / "floor_out.json",
                              env={**os.environ, "FLOOR_GC": "off"}))
            runs.append(_run(MERGE, ROOT, coco, aic, merged_path))
            print(f"round {round_ + 1}: floor {floors[-1]['s']:.2f} s, floor with GC off "
                  f"{nogcs[-1]['s']:.2f} s, merge {runs[-1]['s']:.2f} s", flush=True)
        floor, nogc, run = (min(r, key=lambda r: r["s"]) for r in (floors, nogcs, runs))
        print(f"floor (best of {args.repeat}): {floor['s']:.2f} s, "
              f"{floor['rss_kb'] / 2**20:.2f} GiB", flush=True)
        print(f"floor with the cyclic GC off (reference only; merge() pauses the GC): "
              f"{nogc['s']:.2f} s, {nogc['rss_kb'] / 2**20:.2f} GiB", flush=True)
        print(f"merge (best of {args.repeat}): {run['s']:.2f} s, {run['rss_kb'] / 2**20:.2f} GiB, "
              f"{run['images']} images, {run['annotations']} annotations, "
              f"{merged_path.stat().st_size / 2**20:.0f} MiB written", flush=True)
        print(f"merge_s={run['s']:.2f} floor_s={floor['s']:.2f} ratio={run['s'] / floor['s']:.2f} "
              f"peak_rss_gb={run['rss_kb'] / 2**20:.2f} floor_rss_gb={floor['rss_kb'] / 2**20:.2f}")


if __name__ == "__main__":
    main()

"""No-op re-run of the data DAG at full size (issue 9, item 6).

Writes the five dataset archives in their official layouts, at the size of the
real ones in records and files (the merge bench's COCO-like person keypoints:
118,287 images / 262,465 annotations; raw AI Challenger train: 210,000 images /
378,000 humans; one image file per image, a header-only JPEG of the right size:
no node decodes pixels), and a datasets.yml pointing at them. Then, each as
`luigi --module pipeline.tasks BuildMergedAnnotations` in a subprocess:

* the first run: the real download (a local copy, md5-checked), extract, AIC
  conversion, merge and statistics nodes;
* the no-op run: the same command again, which must run nothing.

Both times include interpreter start and imports (what a user waits for).

    .venv/bin/python bench/noop_dag.py [--scale 1.0] [--workdir DIR] [--keep]

Last line: noop_s=... first_run_s=...
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import orjson
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from merge_scale import AIC_HUMANS, AIC_IMAGES, COCO_IMAGES, COCO_PERSONS, coco_like  # noqa: E402
from scratch import scratch_folder  # noqa: E402
from tasks.datasets.layout import ARCHIVE_LAYOUTS  # noqa: E402
from tasks.sample.archive import write_if_changed, zip_bytes  # noqa: E402

AIC_SIZE = (800, 600)  # [w, h] of every generated AIC image
COCO_SIZE = (640, 480)  # what merge_scale.coco_like records
AIC_JOINTS = 14


def header_only_jpeg(size) -> bytes:
    """SOI, a baseline frame header (SOF0) giving `size` [w, h], EOI: what a header reader needs."""
    width, height = size
    frame = struct.pack(">BHHB3B", 8, height, width, 1, 1, 0x11, 0)
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(frame) + 2) + frame + b"\xff\xd9"


def aic_raw(n_images, n_humans, seed=1):
    """Raw AI Challenger records: sha1-like image ids, humanN keypoints (14 x [x, y, v],
    v 1 visible / 2 occluded / 3 unlabeled at 0, 0) and [x1, y1, x2, y2] boxes."""
    rng = np.random.default_rng(seed)
    shas = [f"{h:040x}" for h in rng.integers(0, 2 ** 62, size=n_images).tolist()]
    owner = np.sort(rng.integers(0, n_images, size=n_humans)).tolist()
    vis = rng.choice([1, 2, 3], size=(n_humans, AIC_JOINTS), p=[0.6, 0.25, 0.15])
    xs = rng.integers(0, AIC_SIZE[0], size=(n_humans, AIC_JOINTS)) * (vis != 3)
    ys = rng.integers(0, AIC_SIZE[1], size=(n_humans, AIC_JOINTS)) * (vis != 3)
    keypoints = np.stack([xs, ys, vis], axis=2).reshape(n_humans, 3 * AIC_JOINTS).tolist()
    x1y1 = rng.integers(0, 400, (n_humans, 2))
    x2y2 = x1y1 + rng.integers(20, 200, (n_humans, 2))
    boxes = np.concatenate([x1y1, x2y2], 1).tolist()
    records = [{"url": f"http://example.invalid/{sha}.jpg", "image_id": sha,
                "keypoint_annotations": {}, "human_annotations": {}} for sha in shas]
    for k, i in enumerate(owner):
        human = f"human{len(records[i]['keypoint_annotations']) + 1}"
        records[i]["keypoint_annotations"][human] = keypoints[k]
        records[i]["human_annotations"][human] = boxes[k]
    return records


def write_archives(folder: Path, scale: float) -> dict:
    """The five archives under `folder`; returns (dataset, archive) -> (path, md5)."""
    coco = coco_like(round(COCO_IMAGES * scale), round(COCO_PERSONS * scale))
    coco_jpeg, aic_jpeg = header_only_jpeg(COCO_SIZE), header_only_jpeg(AIC_SIZE)
    val = {**coco, "images": coco["images"][:10], "annotations": []}
    members = {
        ("coco", "annotations_trainval2017"): {
            ARCHIVE_LAYOUTS["coco", "annotations_trainval2017"]["files"]["train"]: orjson.dumps(coco),
            ARCHIVE_LAYOUTS["coco", "annotations_trainval2017"]["files"]["val"]: orjson.dumps(val)},
        ("coco", "train2017"): {f"train2017/{im['file_name']}": coco_jpeg for im in coco["images"]},
        ("coco", "val2017"): {f"val2017/{im['file_name']}": coco_jpeg for im in val["images"]},
    }
    del coco, val
    for archive, n_images, n_humans in (
            ("keypoint_train", round(AIC_IMAGES * scale), round(AIC_HUMANS * scale)),
            ("keypoint_validation", 10, 15)):
        layout = ARCHIVE_LAYOUTS["aic", archive]
        records = aic_raw(n_images, n_humans)
        files = {f"{layout['images']}/{r['image_id']}.jpg": aic_jpeg for r in records}
        members["aic", archive] = {**files, layout["annotations"]: orjson.dumps(records)}
    archives = {}
    for (dataset, archive), content in members.items():
        path = folder / f"{dataset}_{archive}.zip"
        archives[dataset, archive] = (path, write_if_changed(path, zip_bytes(content)))
    return archives


def datasets_yml(path: Path, archives: dict):
    """Every archive by its path on disk and md5; layouts default to the official ones."""
    config = {}
    for (dataset, archive), (archive_path, md5) in archives.items():
        config.setdefault(dataset, {})[archive] = {"url": str(archive_path), "md5": md5}
    path.write_text(yaml.safe_dump(config))


def luigi_cfg(path: Path, data_root: Path, datasets: Path):
    path.write_text(f"""[core]
autoload_range = false
local_scheduler = true
log_level = WARNING

[pipeline]
data_root = {data_root}
datasets = {datasets}

# Luigi exits 0 on a failed task unless told otherwise.
[retcode]
already_running = 10
missing_data = 20
not_run = 25
task_failed = 30
scheduling_error = 35
unhandled_exception = 40
""")


def timed_dag_run(config: Path) -> float:
    luigi = Path(sys.executable).with_name("luigi")
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(config), "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.run([str(luigi), "--module", "pipeline.tasks", "BuildMergedAnnotations"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"the DAG run failed (exit {proc.returncode}):\n"
                           f"{(proc.stdout + proc.stderr)[-4000:]}")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size")
    parser.add_argument("--workdir", type=Path, default=None, help="where the workload is written")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()
    with scratch_folder("noop_dag_", args.workdir, args.keep) as work:
        t0 = time.perf_counter()
        archives = write_archives(work, args.scale)
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 2**20:.0f} MiB" for p, _ in archives.values())
        print(f"generated in {time.perf_counter() - t0:.1f} s: {sizes}", flush=True)
        datasets_yml(work / "datasets.yml", archives)
        luigi_cfg(work / "luigi.cfg", work / "data", work / "datasets.yml")

        first = timed_dag_run(work / "luigi.cfg")
        runs_log = work / "data" / "runs.jsonl"
        events_after_first = len(runs_log.read_text().splitlines())
        done = [e["task"].split("_")[0] for e in map(json.loads, runs_log.read_text().splitlines())
                if e["event"] == "done"]
        print(f"first run: {first:.1f} s, nodes run: {sorted(done)}", flush=True)

        noop = timed_dag_run(work / "luigi.cfg")
        new_events = runs_log.read_text().splitlines()[events_after_first:]
        if new_events:
            raise RuntimeError(f"the no-op run ran nodes: {new_events}")
        print(f"noop_s={noop:.2f} first_run_s={first:.1f}")


if __name__ == "__main__":
    main()

"""BuildReport at full size: first build, no-op re-run, and the page's first screen (issue 25).

The workload is bench/noop_dag.py's (COCO-like train2017: 118,287 images / 262,465 persons;
raw AI Challenger train: 210,000 images / 378,000 humans), and its data DAG
(BuildMergedAnnotations) runs first, untimed. Then, also untimed: every image file becomes a
hard link to one real JPEG of its size (the data DAG reads headers only, the report decodes
pictures), COCO val2017 gets a COCO-like file of 5,000 images / 11,000 persons, and a model
gets synthetic keypoint results on it (each labeled person predicted with some jitter, a few
joints left/right inverted or missed) for the error analysis. Timed, each as
`luigi --module pipeline.tasks BuildReport` in a subprocess (interpreter start and imports
included):

* report_s: the first build (thumbnails: `--thumbnails-per-page`, `--pages`, 12 per
  rejection reason and error type);
* noop_s: the same command again, which must run nothing;
* first_screen_ms: index.html opened from disk in headless Chromium, until the first page's
  thumbnails have loaded (tasks.report.browser.first_screen_ms).

    .venv/bin/python bench/report_build.py [--scale 1.0] [--workdir DIR] [--keep]

Last line: report_s=... noop_s=... first_screen_ms=...
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from merge_scale import coco_like  # noqa: E402
from noop_dag import AIC_SIZE, COCO_SIZE, datasets_yml, luigi_cfg, write_archives  # noqa: E402
from scratch import scratch_folder  # noqa: E402
from tasks.datasets.layout import ARCHIVE_LAYOUTS  # noqa: E402
from tasks.report.browser import first_screen_ms, headless_chromium  # noqa: E402
from tasks.sample.figures import background  # noqa: E402

VAL_IMAGES, VAL_PERSONS = 5000, 11000


def run_node(config: Path, *args) -> float:
    luigi = Path(sys.executable).with_name("luigi")
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(config), "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.run([str(luigi), "--module", "pipeline.tasks", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{args} failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-4000:]}")
    return time.perf_counter() - t0


def real_jpeg(path: Path, size) -> Path:
    width, height = size
    image = background(np.random.default_rng(0), width, height)
    cv2.rectangle(image, (width // 4, height // 4), (width // 2, height - 20), (40, 40, 200), 3)
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 88])
    return path


LINKS_PER_COPY = 60_000   # ext4 allows 65,000 hard links to one file


def link_pictures(folder: Path, picture: Path, names=None) -> int:
    """Every .jpg of `folder` (or each of `names`) becomes a hard link to a copy of `picture`,
    a new copy for every LINKS_PER_COPY files (the copies of every folder are its own)."""
    count = 0
    for path in (folder / name for name in names) if names else folder.glob("*.jpg"):
        if count % LINKS_PER_COPY == 0:
            source = picture.with_name(f"{picture.stem}_{folder.name}_{count}{picture.suffix}")
            shutil.copyfile(picture, source)
        tmp = path.with_name(f".tmp-link-{path.name}")
        os.link(source, tmp)
        os.replace(tmp, path)
        count += 1
    return count


def val_and_results(data: Path, picture: Path):
    """COCO val2017 replaced by a COCO-like file with pictures, and a model's results on it."""
    val = coco_like(VAL_IMAGES, VAL_PERSONS, seed=2)
    for image in val["images"]:
        image["coco_url"] = image["coco_url"].replace("train2017", "val2017")
    annotations = data / "extracted" / "coco" / "annotations_trainval2017" / \
        ARCHIVE_LAYOUTS["coco", "annotations_trainval2017"]["files"]["val"]
    annotations.write_bytes(orjson.dumps(val))
    link_pictures(data / "coco" / "val2017", picture, [image["file_name"] for image in val["images"]])
    rng = np.random.default_rng(3)
    results = []
    for ann in val["annotations"]:
        if ann["num_keypoints"] == 0:
            continue
        points = np.reshape(ann["keypoints"], (17, 3)).astype(float)
        points[:, :2] += rng.normal(0, 4, (17, 2))
        if rng.random() < 0.05:   # left/right wrists inverted
            points[[9, 10], :2] = points[[10, 9], :2]
        points[:, 2] = rng.uniform(0.3, 1.0, 17)
        results.append({"image_id": ann["image_id"], "category_id": 1, "keypoints": points.ravel().round(2).tolist(),
                        "score": float(rng.uniform(0.5, 1.0))})
    model = data / "models" / "bench_model" / "eval"
    model.mkdir(parents=True)
    (model / "keypoints_results.json").write_bytes(orjson.dumps(results))
    (model / "metrics.json").write_text(json.dumps({"AP": 0.0, "note": "synthetic results"}))
    return len(results)


def prepare(work: Path, scale: float) -> Path:
    archives = write_archives(work, scale)
    datasets_yml(work / "datasets.yml", archives)
    config = work / "luigi.cfg"
    luigi_cfg(config, work / "data", work / "datasets.yml")
    data_s = run_node(config, "BuildMergedAnnotations")
    run_node(config, "ExtractArchive", "--dataset", "coco", "--archive", "val2017")
    print(f"data DAG: {data_s:.1f} s", flush=True)
    t0 = time.perf_counter()
    data = work / "data"
    coco, aic = real_jpeg(work / "coco.jpg", COCO_SIZE), real_jpeg(work / "aic.jpg", AIC_SIZE)
    linked = link_pictures(data / "coco" / "train2017", coco) + link_pictures(data / "aic" / "train", aic)
    predictions = val_and_results(data, coco)
    print(f"pictures: {linked} links, val: {predictions} predictions, {time.perf_counter() - t0:.1f} s", flush=True)
    return config


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size")
    parser.add_argument("--thumbnails-per-page", type=int, default=24)
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="where the workload is written")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()
    with scratch_folder("report_build_", args.workdir, args.keep) as work:
        config = prepare(work, args.scale)
        node = ["BuildReport", "--thumbnails-per-page", str(args.thumbnails_per_page), "--pages", str(args.pages)]
        report_s = run_node(config, *node)
        manifest = json.loads((work / "data" / "report.manifest.json").read_text())
        print(f"first build: {report_s:.1f} s, {manifest['info']}", flush=True)
        runs = (work / "data" / "runs.jsonl").read_text().splitlines()
        noop_s = run_node(config, *node)
        if (work / "data" / "runs.jsonl").read_text().splitlines() != runs:
            raise RuntimeError("the no-op run ran a node")
        with headless_chromium(work / "chromium-profile") as driver:
            screens = [first_screen_ms(driver, work / "data" / "report" / "index.html") for _ in range(3)]
        print(f"first screen, three loads: {', '.join(f'{ms:.0f}' for ms in screens)} ms")
        print(f"report_s={report_s:.1f} noop_s={noop_s:.2f} first_screen_ms={np.median(screens):.0f}")


if __name__ == "__main__":
    main()

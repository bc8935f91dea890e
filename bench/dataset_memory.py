"""Memory and load time of the two training datasets over a full-size merged file (issue 7).

Builds the full-size merged annotation file (bench/merge_scale.py's synthetic COCO-like
and converted-AIC-like inputs, merged by tasks.annotations.merge.merge: about 328k
images and 640k persons), then, each in its own fresh process:

* keypoint: tasks.keypoint.dataset.TopDownCocoDataset (TinyPose, one record per person);
* detection: tasks.detection.dataset.DetectionDataset (PicoDet, one record per image).

For each: load_s is the dataset construction (JSON parse + packing; its CPU time is printed
too, the fairer figure on a shared machine); rss_gb is the
process' resident memory after it minus before it (what the dataset keeps); then the
process forks a child, as a loader worker is forked, which reads every record once;
worker_growth_gb is the child's growth in private (copied) memory during that pass,
from /proc/self/smaps_rollup (a list of dicts would copy the pages of every object
whose reference count the pass writes). No image is decoded.

    .venv/bin/python bench/dataset_memory.py [--scale 1.0] [--workdir DIR] [--keep]

Last line: keypoint_load_s=... keypoint_rss_gb=... keypoint_worker_growth_gb=...
detection_load_s=... detection_rss_gb=... detection_worker_growth_gb=...
"""
import argparse
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch import scratch_folder  # noqa: E402

GIB = 2 ** 30


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def private_bytes():
    """Private (not shared with the parent) resident memory of this process."""
    fields = {}
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                fields[parts[0].rstrip(":")] = int(parts[1]) * 1024
    return fields["Private_Clean"] + fields["Private_Dirty"]


def generate(workdir: Path, scale: float) -> Path:
    """The merged file, written by the project's merge from merge_scale's generated inputs."""
    import orjson

    from merge_scale import AIC_HUMANS, AIC_IMAGES, COCO_IMAGES, COCO_PERSONS, aic_like, coco_like
    from tasks.annotations.merge import merge
    coco, aic, merged = workdir / "coco.json", workdir / "aic.json", workdir / "merged.json"
    coco.write_bytes(orjson.dumps(coco_like(round(COCO_IMAGES * scale), round(COCO_PERSONS * scale))))
    aic.write_bytes(orjson.dumps(aic_like(round(AIC_IMAGES * scale), round(AIC_HUMANS * scale))))
    merge(coco, [aic], merged, workdir / "lineage.csv", workdir / "report.json", aic_names=["aic_train"])
    return merged


def measure(which: str, ann_file: Path) -> dict:
    """Load one dataset in this (fresh) process, then fork a child that reads every record."""
    if which == "keypoint":
        from tasks.keypoint.dataset import TopDownCocoDataset

        def build():
            return TopDownCocoDataset(ann_file, ann_file.parent, (96, 128), transforms=None)
    else:
        from tasks.detection.dataset import DetectionDataset

        def build():
            return DetectionDataset(ann_file, ann_file.parent, transforms=None)
    gc.collect()
    before = rss_bytes()
    start, cpu = time.perf_counter(), time.process_time()
    dataset = build()
    load_s, load_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    gc.collect()
    after = rss_bytes()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the "worker": one pass over the records, as a loader's __getitem__ calls do
        os.close(read)
        private = private_bytes()
        start = time.perf_counter()
        for index in range(len(dataset.records)):
            dataset.records[index]
        report = {"growth": private_bytes() - private, "pass_s": time.perf_counter() - start}
        os.write(write, json.dumps(report).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = json.loads(pipe.read())
    os.waitpid(pid, 0)
    return {"load_s": load_s, "load_cpu_s": load_cpu_s, "rss_gb": (after - before) / GIB,
            "worker_growth_gb": child["growth"] / GIB,
            "pass_s": child["pass_s"], "records": len(dataset.records), "packed_gb": dataset.records.nbytes / GIB,
            "stats": dataset.stats}


def run_child(*args) -> dict:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *map(str, args)], check=True,
                          stdout=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size")
    parser.add_argument("--workdir", type=Path, default=None, help="where the merged file is written")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        what, path = args.child
        result = {"merged": str(generate(Path(path), args.scale))} if what == "generate" \
            else measure(what, Path(path))
        print(json.dumps(result))
        return
    with scratch_folder("dataset_memory_", args.workdir, args.keep) as work:
        start = time.perf_counter()
        merged = Path(run_child("--scale", args.scale, "--child", "generate", work)["merged"])
        print(f"generated and merged in {time.perf_counter() - start:.0f} s: {merged.stat().st_size / 2**20:.0f} MiB",
              flush=True)
        figures = {}
        for which in ("keypoint", "detection"):
            result = run_child("--child", which, merged)
            print(f"{which}: {result['records']} records, load {result['load_s']:.2f} s "
                  f"({result['load_cpu_s']:.2f} s of CPU), "
                  f"resident +{result['rss_gb']:.3f} GiB (packed arrays {result['packed_gb']:.3f} GiB), "
                  f"worker +{result['worker_growth_gb']:.4f} GiB after a {result['pass_s']:.1f} s pass over "
                  f"every record; {result['stats']}", flush=True)
            figures.update({f"{which}_{key}": result[key] for key in ("load_s", "rss_gb", "worker_growth_gb")})
        print(" ".join(f"{key}={value:.3f}" for key, value in figures.items()))


if __name__ == "__main__":
    main()

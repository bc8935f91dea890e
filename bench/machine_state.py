"""Why the same frame takes two different times on a 2-vCPU virtual machine: how far apart its
two CPUs are, next to PicoDet-S 192 on 1 and on 2 threads, sampled over time.

    .venv/bin/python bench/machine_state.py [--samples 40] [--every 8]

Each sample: the round trip of one cache line between CPU 0 and CPU 1
(bench/core_round_trip.c, built with the system's C compiler), then the synthetic-weight
PicoDet-S 192 export (``pipeline_latency.export_models``) on onnxruntime with 2 threads and
with 1, median of 60 runs each. A round trip under 200 ns counts as "near" (the two vCPUs
share a cache), the rest as "far". The last line is ``samples=... near=...
round_trip_near_ns=... round_trip_far_ns=... detector_2_threads_near_ms=...
detector_2_threads_far_ms=... detector_1_thread_ms=...`` (medians; -1 where no sample).
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

NEAR_NS = 200.0


def build_round_trip(folder):
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise SystemExit("machine_state.py: no C compiler (cc or gcc) to build bench/core_round_trip.c")
    binary = folder / "core_round_trip"
    subprocess.run([compiler, "-O2", "-pthread", str(REPO / "bench" / "core_round_trip.c"), "-o", str(binary)],
                   check=True)
    return binary


def median_ms(run, image, iters=60, warmup=10):
    for _ in range(warmup):
        run(image)
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        run(image)
        times.append(1000 * (time.perf_counter() - start))
    return float(np.median(times))


def median_or_missing(values):
    """The median of ``values`` to 2 decimals, or -1 (missing) when there are none."""
    return round(float(np.median(values)), 2) if values else -1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--every", type=float, default=8.0, help="seconds between samples")
    args = parser.parse_args()

    from pipeline_latency import DET_SIZE, export_models
    from tasks.runtime.detector_predictor import DetectorPredictor

    with tempfile.TemporaryDirectory(prefix="machine-state-") as tmp:
        tmp = Path(tmp)
        round_trip = build_round_trip(tmp)
        det_dir, _ = export_models(tmp / "models")
        detectors = {threads: DetectorPredictor(det_dir, backend="onnxruntime", threads=threads) for threads in (2, 1)}
        image = np.random.default_rng(0).random((1, 3, DET_SIZE[1], DET_SIZE[0]), dtype=np.float32)
        rows = []
        for index in range(args.samples):
            if index:
                time.sleep(args.every)
            ns = float(subprocess.run([str(round_trip)], capture_output=True, text=True, check=True).stdout)
            ms = {threads: median_ms(detector.runner, image) for threads, detector in detectors.items()}
            rows.append((ns, ms[2], ms[1]))
            print(f"{time.strftime('%H:%M:%S')} round trip {ns:6.1f} ns, PicoDet-S 192 2 threads {ms[2]:.2f} ms, "
                  f"1 thread {ms[1]:.2f} ms", flush=True)
    near = [row for row in rows if row[0] < NEAR_NS]
    far = [row for row in rows if row[0] >= NEAR_NS]
    print(f"samples={len(rows)} near={len(near)} round_trip_near_ns={median_or_missing([r[0] for r in near])} "
          f"round_trip_far_ns={median_or_missing([r[0] for r in far])} "
          f"detector_2_threads_near_ms={median_or_missing([r[1] for r in near])} "
          f"detector_2_threads_far_ms={median_or_missing([r[1] for r in far])} "
          f"detector_1_thread_ms={median_or_missing([r[2] for r in rows])}")


if __name__ == "__main__":
    main()

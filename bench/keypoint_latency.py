"""CPU forward latency of TinyPose (dygraph, raw network up to the heatmap), and its parameter count.

Same setup as PaddleDetection's figures in tests/data/reference/latency.json
(`dygraph_raw_forward`): batch 1, 2 threads (CPU affinity {0,1}, OMP/MKL
threads 2, set before paddle is imported), eval mode under no_grad, the
synthetic weights of tests/synthetic_weights.py,
input np.random.default_rng(0).uniform(0, 1, (1,3,H,W)).
Each size is timed in `--rounds` rounds of `--runs` forwards after `--warmup`
forwards; the figures are from the last round (the first is often slower on
this shared machine), with p10/p90 and min/max as the spread.

    .venv/bin/python bench/keypoint_latency.py [--runs 50] [--warmup 10] [--rounds 2]

Last line: key=value pairs, e.g. tinypose_128x96_median_ms=... params_trainable=1318625
"""
import os

THREADS = 2
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(THREADS)

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import paddle  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # synthetic_weights: a test fixture the benches share

from synthetic_weights import weights_for_params_list  # noqa: E402
from tasks.common.weights import load_state  # noqa: E402
from tasks.keypoint.model import TinyPose  # noqa: E402

SIZES = {"tinypose_128x96": (128, 96), "tinypose_256x192": (256, 192)}
REFERENCE_DIR = REPO / "tests" / "data" / "reference"


def synthetic_weights():
    """The synthetic weights PaddleDetection's latency figures were measured with."""
    return weights_for_params_list(json.loads((REFERENCE_DIR / "params_tinypose_128x96.json").read_text()))


def time_forward(model, x, runs, warmup):
    """Milliseconds of each of `runs` forwards after `warmup` untimed ones."""
    times = []
    with paddle.no_grad():
        for i in range(warmup + runs):
            t0 = time.perf_counter()
            model(x).numpy()  # .numpy() waits for the result
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1e3)
    return np.array(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > THREADS:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:THREADS]))
    paddle.set_device("cpu")
    paddle.seed(0)
    model = TinyPose()
    model.eval()
    assert load_state(model, synthetic_weights()).ok
    trainable = sum(int(np.prod(p.shape)) for p in model.parameters() if not p.stop_gradient)
    total = sum(int(np.prod(t.shape)) for t in model.state_dict().values())

    load_start = os.getloadavg()[0]
    print(f"paddle {paddle.__version__}, threads {THREADS}, affinity {sorted(os.sched_getaffinity(0))}, "
          "synthetic reference weights")
    result = {}
    for key, (h, w) in SIZES.items():
        x = paddle.to_tensor(np.random.default_rng(0).uniform(0.0, 1.0, (1, 3, h, w)).astype(np.float32))
        medians = []
        for _ in range(args.rounds):
            ms = time_forward(model, x, args.runs, args.warmup)
            medians.append(float(np.median(ms)))
        stats = {"median_ms": np.median(ms), "p10_ms": np.percentile(ms, 10),
                 "p90_ms": np.percentile(ms, 90), "min_ms": ms.min(), "max_ms": ms.max()}
        print(f"{key}: median of each round {[round(m, 1) for m in medians]} ms; last round "
              + ", ".join(f"{k} {v:.1f}" for k, v in stats.items()))
        result.update({f"{key}_{k}": f"{v:.1f}" for k, v in stats.items()})
    # other processes on this small machine inflate the figures: the 1-min load average shows it
    result.update(params_trainable=trainable, params_total=total, threads=THREADS,
                  load1_start=f"{load_start:.2f}", load1_end=f"{os.getloadavg()[0]:.2f}")
    print(" ".join(f"{k}={v}" for k, v in result.items()))


if __name__ == "__main__":
    main()

"""Run or inspect an .nb once, executed by the Lite environment's Python (3.10, numpy<2): the export checks.

It imports only numpy and paddlelite, never the project, so it runs in .venv-lite:

    python lite_probe.py run NB IN_DIR OUT_DIR [--repeat R --warmup W]
        IN_DIR holds 0.npy, 1.npy, ... (inputs in the model's input order);
        OUT_DIR receives 0.npy, 1.npy, ... (outputs in order) and timing.json.
    python lite_probe.py inspect NB OUT_JSON
        Creates a predictor (does not run it) and lists the optimized program's
        op types: works for ARM files too, whose kernels cannot run on x86.
"""
import argparse
import json
import os
import re
import sys
import tempfile
import time

import numpy as np
import paddlelite.lite as lite


def _predictor(nb_path):
    config = lite.MobileConfig()
    config.set_model_from_file(nb_path)
    return lite.create_paddle_predictor(config)


def run(args):
    predictor = _predictor(args.nb)
    n_inputs = len(predictor.get_input_names())
    inputs = [np.ascontiguousarray(np.load(os.path.join(args.in_dir, f"{i}.npy"))) for i in range(n_inputs)]
    for i, array in enumerate(inputs):
        predictor.get_input(i).from_numpy(array)
    for _ in range(args.warmup):
        predictor.run()
    times_ms = []
    for _ in range(max(1, args.repeat)):
        start = time.perf_counter()
        predictor.run()
        times_ms.append((time.perf_counter() - start) * 1000.0)
    os.makedirs(args.out_dir, exist_ok=True)
    names = predictor.get_output_names()
    for i in range(len(names)):
        np.save(os.path.join(args.out_dir, f"{i}.npy"), predictor.get_output(i).numpy())
    with open(os.path.join(args.out_dir, "timing.json"), "w") as f:
        json.dump({"times_ms": times_ms, "output_names": names, "numpy": np.__version__}, f)


def inspect(args):
    predictor = _predictor(args.nb)
    info = {"input_names": predictor.get_input_names(), "output_names": predictor.get_output_names()}
    with tempfile.TemporaryDirectory() as tmp:
        blocks = lite.Opt().visualize_optimized_nb_model(args.nb, tmp + os.sep)
        ops = {}
        for block in blocks:
            with open(os.path.join(tmp, block + ".dot")) as f:
                # op nodes are drawn yellow, variables gray
                for op in re.findall(r'label="([^"]+)"[^\]]*fillcolor="yellow"', f.read()):
                    ops[op] = ops.get(op, 0) + 1
    info["ops"] = dict(sorted(ops.items()))
    with open(args.out_json, "w") as f:
        json.dump(info, f)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run")
    p_run.add_argument("nb")
    p_run.add_argument("in_dir")
    p_run.add_argument("out_dir")
    p_run.add_argument("--repeat", type=int, default=1)
    p_run.add_argument("--warmup", type=int, default=0)
    p_inspect = sub.add_parser("inspect")
    p_inspect.add_argument("nb")
    p_inspect.add_argument("out_json")
    args = parser.parse_args(argv)
    {"run": run, "inspect": inspect}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

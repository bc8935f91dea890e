"""The shared DataLoader's workers die with their trainer, even one blocked in a sample."""
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from kill_resume import group_ends, live_members

ROOT = Path(__file__).resolve().parents[1]

BLOCKED_LOADER = textwrap.dedent("""
    import time
    import numpy as np
    import paddle
    from tasks.common.loader import build_loader

    class Blocked(paddle.io.Dataset):
        def __len__(self):
            return 4
        def __getitem__(self, index):
            time.sleep(600)   # a worker stuck in a decode: Paddle's own watchdog never runs
            return np.zeros(3, "float32")

    config = {"train": {"batch_size": 1, "shuffle": False, "drop_last": False}, "data": {"num_workers": 1}}
    loader, _ = build_loader(Blocked(), config, train=True)
    print("iterating", flush=True)
    next(iter(loader))
""")


def test_a_sigkilled_trainer_leaves_no_worker(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", BLOCKED_LOADER], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout.readline().strip() == b"iterating"
        assert group_ends(proc.pid, within=0) is False
        while len(live_members(proc.pid)) < 2:   # the worker has forked
            assert proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        assert group_ends(proc.pid, within=20), f"worker(s) {live_members(proc.pid)} outlived the trainer"
    finally:
        if live_members(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)

"""Kill a training CLI the way the OOM killer or a preemption does (SIGKILL to the trainer
process alone, once its first checkpoint is on disk), resume it, and compare it with a run
that was never interrupted."""
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import paddle


def same_weights(path_a, path_b) -> bool:
    a, b = paddle.load(str(path_a)), paddle.load(str(path_b))
    return a.keys() == b.keys() and all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)


def killed_resumed_and_straight(cli, root: Path, checkpoint: str, env: dict, cwd: Path, timeout: float):
    """``cli(out_dir)`` (a training command line) killed after ``checkpoint`` (relative to its
    out folder), run again to resume, and run once uninterrupted. Asserts the resumed run ends
    with the same training log bytes and the same weights; returns (killed, straight) folders."""
    killed, straight = root / "killed", root / "straight"
    kill_after_checkpoint(cli(killed), killed / checkpoint, env=env, cwd=cwd, timeout=timeout)
    assert not (killed / "model_final.pdparams").exists(), "run finished before the kill; make it longer"
    for out in (killed, straight):
        subprocess.run(cli(out), cwd=cwd, env=env, check=True, timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Same data order, augmentation draws, optimizer state and random states: the same bytes.
    assert (killed / "train_log.csv").read_bytes() == (straight / "train_log.csv").read_bytes()
    assert same_weights(killed / "model_final.pdparams", straight / "model_final.pdparams")
    return killed, straight


def kill_after_checkpoint(cmd, checkpoint: Path, env: dict, cwd: Path, timeout: float):
    """Run `cmd`, SIGKILL its main process as soon as `checkpoint` exists, and assert that
    nothing of the run is left: its loader workers must die with it (their own group lets the
    test clean up after a failure)."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert checkpoint.exists(), proc.stderr.read().decode()[-2000:] if proc.poll() is not None else "no checkpoint"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        assert group_ends(proc.pid, within=30), "a loader worker outlived the killed trainer"
    finally:  # no process of the run left behind, whatever failed
        if not group_ends(proc.pid, within=0):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)


def group_ends(pgid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while live_members(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def live_members(pgid: int) -> list:
    """Processes of the group that are not zombies (an orphan's reaper may be slow or absent)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:   # ended while we looked
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members

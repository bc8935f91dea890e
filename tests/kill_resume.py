"""Kill a training CLI the way the OOM killer or a preemption does: SIGKILL to the trainer
process alone, once its first checkpoint is on disk."""
import os
import signal
import subprocess
import time
from pathlib import Path


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
        assert _group_ends(proc.pid, within=30), "a loader worker outlived the killed trainer"
    finally:  # no process of the run left behind, whatever failed
        if not _group_ends(proc.pid, within=0):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)


def _group_ends(pgid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while _live_members(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _live_members(pgid: int) -> list:
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

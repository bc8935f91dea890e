"""Several devices from one call: a training CLI under Paddle's launcher, run as a child process.

    cmd = launcher_command("tasks/keypoint/train.py", ["--config", ...], devices=[0, 1], gpu=True,
                           log_dir=model_dir / "logs")
    run_launcher(cmd, log_dir, on_epoch=lambda done, total, loss: ...)

`python -m paddle.distributed.launch` starts one process per device (GPUs: `--devices`;
CPU: `--nproc_per_node`, gradients all-reduced over gloo) and, for several machines, joins
the others through `--master host:port` with `--nnodes` and this machine's `--rank`. Each
rank's output goes to `log_dir/workerlog.<rank>`; rank 0's is also streamed here, line by
line, to the log, and its per-epoch lines (EPOCH_LINE, printed by tasks.engine.entry) drive
`on_epoch`. A failed run raises with the failing rank's last lines. The launcher is told
not to restart a failed rank (a restart would hide the error); it gets SIGTERM, and stops
its ranks, when the process that started it dies.
"""
import ctypes
import logging
import re
import signal
import subprocess
import sys
from pathlib import Path

__all__ = ["EPOCH_LINE", "LaunchError", "launcher_command", "run_launcher"]

log = logging.getLogger(__name__)

EPOCH_LINE = "[epoch]"
_EPOCH_RE = re.compile(re.escape(EPOCH_LINE) + r" (\d+)/(\d+) loss (\S+)")
_PR_SET_PDEATHSIG = 1
TAIL_LINES = 20


class LaunchError(RuntimeError):
    """The launched training failed; the message holds the failing rank's last lines."""


def launcher_command(script, script_args, *, devices, log_dir, gpu: bool, nnodes: int = 1, master: str = "",
                     node_rank: int = -1) -> list:
    """The command line that runs `script` with `script_args` on `devices` of this machine
    (GPU ids, or on CPU only their count) and, with nnodes > 1, `master` and this `node_rank`."""
    cmd = [sys.executable, "-m", "paddle.distributed.launch", "--log_dir", str(log_dir), "--max_restart", "0",
           "--log_overwrite", "True"]
    cmd += ["--devices", ",".join(map(str, devices))] if gpu else ["--nproc_per_node", str(len(devices))]
    if nnodes > 1:
        if not master:
            raise ValueError(f"{nnodes} nodes need the master's address (host:port of the rank-0 machine)")
        cmd += ["--nnodes", str(nnodes), "--master", master, "--rank", str(node_rank)]
    return cmd + [str(script), *map(str, script_args)]


def _die_with_parent():
    """In the child: SIGTERM when the parent dies (Linux), so no launcher outlives its node."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def run_launcher(cmd: list, log_dir, on_epoch=None, env=None, cwd=None):
    """Run `cmd` (launcher_command), streaming rank 0's lines to the log; LaunchError on failure."""
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    log.info("launching: %s", " ".join(cmd))
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd,
                          preexec_fn=_die_with_parent) as proc:
        for line in proc.stdout:
            line = line.rstrip()
            log.info("| %s", line)
            match = _EPOCH_RE.search(line)
            if match and on_epoch is not None:
                on_epoch(int(match.group(1)), int(match.group(2)), float(match.group(3)))
    if proc.returncode != 0:
        raise LaunchError(f"training under paddle.distributed.launch exited with status {proc.returncode}; "
                          f"{failing_rank_report(log_dir)}")


def failing_rank_report(log_dir: Path) -> str:
    """The first rank whose log holds a traceback, with its last lines (else every log's last line)."""
    logs = sorted(log_dir.glob("workerlog.*"), key=lambda p: int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0)
    for path in logs:
        lines = path.read_text(errors="replace").splitlines()
        if any(line.startswith("Traceback") for line in lines):
            tail = "\n".join("  " + line for line in lines[-TAIL_LINES:])
            return f"rank {path.suffix[1:]} failed ({path}):\n{tail}"
    last = "; ".join(f"{p.name}: {(p.read_text(errors='replace').splitlines() or [''])[-1]}" for p in logs)
    return f"no rank logged a traceback (logs in {log_dir}: {last or 'none'})"

"""The data DAG on a central luigid with two worker processes at once."""
import collections
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pycocotools.coco import COCO

LUIGI = Path(sys.executable).with_name("luigi")
LUIGID = Path(sys.executable).with_name("luigid")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"luigid did not open port {port}")


@pytest.fixture
def luigid(tmp_path):
    port = free_port()
    logdir = tmp_path / "luigid"
    logdir.mkdir()
    proc = subprocess.Popen([str(LUIGID), "--address", "127.0.0.1", "--port", str(port),
                             "--logdir", str(logdir), "--state-path", str(logdir / "state.pickle"),
                             "--pidfile", str(logdir / "pid")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.slow
def test_two_workers_on_luigid_run_each_node_once(tmp_path, sample_dir, luigid):
    root = tmp_path / "data"
    config = tmp_path / "central.cfg"
    config.write_text(f"""[core]
autoload_range = false
local_scheduler = false
default_scheduler_host = 127.0.0.1
default_scheduler_port = {luigid}

[pipeline]
data_root = {root}
datasets = {sample_dir / "datasets.yml"}
""")
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(config)}
    command = [str(LUIGI), "--module", "pipeline.tasks", "BuildMergedAnnotations",
               "--workers", "2", "--no-lock"]
    workers = [subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    try:
        outputs = [w.communicate(timeout=300)[0] for w in workers]
    finally:  # a hung worker must not outlive the test
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output

    events = [json.loads(line) for line in (root / "runs.jsonl").read_text().splitlines()]
    done = collections.Counter(e["task"] for e in events if e["event"] == "done")
    assert len(done) == 8, done          # 3 downloads, 3 extracts, 1 conversion, 1 merge
    assert set(done.values()) == {1}, done
    assert len({e["pid"] for e in events}) >= 2   # both processes did work
    merged = COCO(str(root / "annotations" / "aic_coco_train_cocoformat.json"))
    assert len(merged.anns) > 0
    leftovers = [p for p in root.rglob(".*") if p.name.startswith((".tmp-", ".old-"))]
    assert leftovers == []

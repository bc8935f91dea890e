"""The data DAG on a central luigid with two worker processes at once.

The archives are served over HTTP by a loopback server that answers none of the
three downloads until all three are being fetched at once. One worker process runs
at most two nodes at a time (`--workers 2`), so the DAG can only start when the
other process took a download too: the test does not depend on which process
starts first or how fast. Who ran what is read from luigid itself (the Luigi
worker id each node was handed to), and those ids are matched to the two
processes by the pid luigid records for each worker.
"""
import collections
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml
from pycocotools.coco import COCO

from datasets_http import LoopbackServer, Route

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


def scheduler_api(port, method, **args):
    """One call of luigid's JSON API (what its web page reads)."""
    query = urllib.parse.urlencode({"data": json.dumps(args)})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/{method}?{query}", timeout=30) as r:
        return json.loads(r.read())["response"]


def serve_sample_archives(server, sample_dir, datasets_out, barrier_archives):
    """A copy of the sample's datasets.yml whose URLs point at `server`; the archives in
    `barrier_archives` ((dataset, archive) pairs) are answered only once all are asked for.
    Returns (dataset, archive) -> the route serving it."""
    config = yaml.safe_load((sample_dir / "datasets.yml").read_text())
    barrier = threading.Barrier(len(barrier_archives))
    routes = {}
    for dataset, archives in config.items():
        for archive, entry in archives.items():
            path = Path(urllib.parse.urlsplit(entry["url"]).path)
            route = routes[dataset, archive] = f"/{dataset}/{path.name}"
            server.routes[route] = Route(
                path.read_bytes(),
                barrier=barrier if (dataset, archive) in barrier_archives else None)
            entry["url"] = server.url(route)
    datasets_out.write_text(yaml.safe_dump(config))
    return routes


# The downloads BuildMergedAnnotations needs: all three must be in flight at once.
MERGE_DOWNLOADS = {("coco", "annotations_trainval2017"), ("coco", "train2017"),
                   ("aic", "keypoint_train")}


@pytest.mark.slow
def test_two_workers_on_luigid_share_the_work_and_run_each_node_once(tmp_path, sample_dir,
                                                                      luigid):
    root = tmp_path / "data"
    config = tmp_path / "central.cfg"
    with LoopbackServer() as server:
        routes = serve_sample_archives(server, sample_dir, tmp_path / "datasets.yml",
                                       MERGE_DOWNLOADS)
        config.write_text(f"""[core]
autoload_range = false
local_scheduler = false
default_scheduler_host = 127.0.0.1
default_scheduler_port = {luigid}

[pipeline]
data_root = {root}
datasets = {tmp_path / "datasets.yml"}
""")
        env = {**os.environ, "LUIGI_CONFIG_PATH": str(config)}
        command = [str(LUIGI), "--module", "pipeline.tasks", "BuildMergedAnnotations",
                   "--workers", "2", "--no-lock"]
        workers = [subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True) for _ in range(2)]
        try:
            outputs = [w.communicate(timeout=400)[0] for w in workers]
        finally:  # a hung worker must not outlive the test
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait(30)
        for worker, output in zip(workers, outputs):
            assert worker.returncode == 0, output
        fetched = sorted(path for path, _ in server.requests)
    assert fetched == sorted(routes[a] for a in MERGE_DOWNLOADS)  # each archive fetched once

    # luigid's record: the Luigi worker each node was handed to, and each worker's pid.
    done = scheduler_api(luigid, "task_list", status="DONE")
    worker_pids = {w["name"]: w["pid"] for w in scheduler_api(luigid, "worker_list")}
    assert sorted(worker_pids.values()) == sorted(w.pid for w in workers), worker_pids
    ran_by = {task_id: task["worker_running"] for task_id, task in done.items()}
    assert len(ran_by) == 8, ran_by      # 3 downloads, 3 extracts, 1 conversion, 1 merge

    # The nodes' own log: each node did its work once. A node handed a second time
    # (luigi issue 2644) logs a skip; luigid then names the second worker, so such a
    # node proves nothing about who did the work and is left out of the count.
    events = [json.loads(line) for line in (root / "runs.jsonl").read_text().splitlines()]
    work = collections.Counter(e["task"] for e in events if e["event"] == "done")
    assert work == collections.Counter(ran_by.keys()), work
    skipped = {e["task"] for e in events if e["event"].startswith("skipped")}
    worked = collections.Counter(w for task, w in ran_by.items() if task not in skipped)
    assert set(worked) == set(worker_pids), worked  # both Luigi workers did nodes' work

    merged = COCO(str(root / "annotations" / "aic_coco_train_cocoformat.json"))
    assert len(merged.anns) > 0
    leftovers = [p for p in root.rglob(".*") if p.name.startswith((".tmp-", ".old-"))]
    assert leftovers == []

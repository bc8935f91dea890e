"""CachedTask: a Luigi task whose completeness is decided by a manifest.

The manifest (JSON, written last and atomically) records the task's signature
(significant parameters, fingerprints of the config files it reads, the content
digests of its inputs, a per-task code version) and the size, mtime and sha256
of every output. `complete()` is true only when the recorded signature equals the
one this run would have and every output is still the recorded one, so a changed
config or input re-runs the node and everything downstream, and nothing else.

Input digests are the upstream manifests' output digests (content, not time):
an upstream node that re-runs and writes the same bytes does not re-run its
downstream nodes.
"""
import os
import socket
import time
from pathlib import Path

import luigi
import orjson

from pipeline.config import data_root
from tasks import __version__
from tasks.common.atomic import (remove_path, remove_stale_tmp, replace_path, temporary_name,
                                 write_json)
from tasks.common.fingerprint import describe_output, sha256_bytes, sha256_file, still_matches


def digest(obj) -> str:
    return sha256_bytes(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS))


class ManifestTarget(luigi.Target):
    """Exists when its task's manifest matches what the task would produce now."""

    def __init__(self, task):
        self.task = task
        self.path = task.manifest_path()

    def exists(self):
        return self.task.output_digest() is not None


class CachedTask(luigi.Task):
    """Subclasses define `outputs()`, `manifest_path()` and `build(out)`.

    `build(out)` gets a dict name -> path to write. With `stage_outputs` (the
    default) those are temporary paths beside the final ones, renamed into place
    after `build` returns; a task whose work function handles its own atomicity
    and resumption (download, training) sets `stage_outputs = False`.
    """

    code_version = 1          # bump when a node's logic changes its outputs
    stage_outputs = True

    # --- what subclasses declare -------------------------------------------------
    def outputs(self) -> dict:
        raise NotImplementedError

    def manifest_path(self) -> Path:
        raise NotImplementedError

    def build(self, out: dict):
        """Do the work; may return a JSON-able dict recorded in the manifest."""
        raise NotImplementedError

    def config_files(self) -> list:
        """Config files whose content is part of the signature."""
        return []

    def signature_params(self) -> dict:
        return {name: value for name, value in self.param_kwargs.items()
                if self.get_params_dict()[name].significant}

    # --- caching -----------------------------------------------------------------
    @classmethod
    def get_params_dict(cls):
        return dict(cls.get_params())

    def upstream(self) -> dict:
        """requires() as a name -> task dict (a single task or a list is allowed)."""
        req = self.requires()
        if isinstance(req, dict):
            return req
        if isinstance(req, luigi.Task):
            return {"input": req}
        return {str(i): task for i, task in enumerate(req or [])}

    def signature(self):
        """What the outputs are a function of, or None while an input is missing."""
        inputs = {}
        for name, task in self.upstream().items():
            inputs[name] = task.output_digest()
            if inputs[name] is None:
                return None
        return _as_json({
            "task": self.get_task_family(),
            "code_version": self.code_version,
            "params": self.signature_params(),
            "configs": {str(p): sha256_file(p) for p in map(Path, self.config_files())},
            "inputs": inputs,
        })

    def read_manifest(self):
        try:
            return orjson.loads(self.manifest_path().read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return None

    def output_digest(self):
        """Digest of this node's outputs if it is complete and current, else None."""
        manifest = self.read_manifest()
        if manifest is None or manifest.get("signature") != self.signature():
            return None
        for name, path in self.outputs().items():
            recorded = manifest["outputs"].get(name)
            if recorded is None or not still_matches(path, recorded):
                return None
        return manifest["outputs_digest"]

    def output(self):
        return ManifestTarget(self)

    def complete(self):
        return self.output_digest() is not None

    # --- running -----------------------------------------------------------------
    def run(self):
        if self.complete():  # a second worker got the same task (luigi issue 2644)
            _log_run(self, "skipped: already complete")
            return
        _log_run(self, "started")
        signature = self.signature()
        self.manifest_path().unlink(missing_ok=True)
        final = {name: Path(p) for name, p in self.outputs().items()}
        for path in final.values():
            path.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_tmp(path)  # what a killed earlier run of this node left
        out = {name: temporary_name(p) for name, p in final.items()} if self.stage_outputs else final
        try:
            extra = self.build(out) or {}
            if self.stage_outputs:
                for name, path in final.items():
                    if not out[name].exists():
                        raise FileNotFoundError(f"{self.task_id} did not write its output {path}")
                    replace_path(out[name], path)
        finally:
            if self.stage_outputs:
                for tmp in out.values():
                    remove_path(tmp)
        described = {name: describe_output(path) for name, path in final.items()}
        write_json(self.manifest_path(), {
            "signature": signature,
            "outputs": described,
            "outputs_digest": digest({n: _content_id(d) for n, d in described.items()}),
            "paths": {name: str(path) for name, path in final.items()},
            "package_version": __version__,
            "info": extra,
        }, indent=True)
        _log_run(self, "done")

    def progress(self, message: str, fraction: float = None):
        """Luigi status message / progress percentage (shown by luigid)."""
        self.set_status_message(message)
        if fraction is not None:
            self.set_progress_percentage(round(100 * fraction))


def runs_log_path() -> Path:
    return data_root() / "runs.jsonl"


def _log_run(task, event: str):
    """Append one line per node event to <data_root>/runs.jsonl: what ran, when, where.

    One short O_APPEND write per line, so concurrent workers do not interleave."""
    line = orjson.dumps({"time": time.time(), "task": task.task_id, "event": event,
                         "pid": os.getpid(), "host": socket.gethostname()}) + b"\n"
    path = runs_log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _as_json(obj):
    """`obj` as it reads back from a manifest (tuples become lists...), so a fresh
    signature compares equal to a recorded one."""
    return orjson.loads(orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS))


def _content_id(described: dict):
    kind = described["kind"]
    if kind == "file":
        return described["sha256"]
    return described["target"] if kind == "link" else [described["files"], described["size"]]

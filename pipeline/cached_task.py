"""CachedTask: a Luigi task whose completeness is decided by a manifest.

The manifest (JSON, written last and atomically) records the node's signature (its
significant parameters and the digests of its inputs) and the size, mtime and sha256
of every output. `complete()` is true only when the recorded signature equals the one
the node would have now and every output is still the recorded one.

What a downstream node sees of this one is its *digest*: the content of the outputs
downstream reads (`digested_outputs`), plus the digests of the inputs it passes
through (`carried_inputs`: the image folders that merged file names point into). It
depends on content only, never on when, where or under which temporary name the
node ran, so a node that re-runs and writes the same bytes re-runs nothing below it.

Parameter variants live side by side: the non-default values of `variant_params`,
and those of every upstream node, tag the output names (`variant_suffix`), so the
default keeps the plain names and switching a parameter back finds its files.

A per-node lock under the data root makes a second process that reaches a running
node wait for it and then find it complete.
"""
import logging
import os
import socket
import time
from pathlib import Path

import luigi
import orjson

from pipeline.config import configure_node_logging, data_root
from tasks import __version__
from tasks.common.atomic import remove_path, remove_stale_tmp, replace_path, temporary_name, write_json
from tasks.common.fingerprint import describe_output, sha256_bytes, still_matches
from tasks.common.locks import exclusive_lock
from tasks.common.ownership import ForeignOutputError, claim, foreign_outputs, record_kinds

log = logging.getLogger("pipeline")


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

    stage_outputs = True
    variant_params = ()   # parameters whose non-default values tag the output names
    #: What the error says to do about an output path that holds something not written here.
    foreign_output_advice = "Move it away (or delete it yourself), then run the node again."

    # --- what subclasses declare -------------------------------------------------
    def outputs(self) -> dict:
        raise NotImplementedError

    def manifest_path(self) -> Path:
        raise NotImplementedError

    def build(self, out: dict):
        """Do the work; may return a JSON-able dict recorded in the manifest's info."""
        raise NotImplementedError

    def digested_outputs(self) -> tuple:
        """The outputs downstream nodes read: only these make this node's digest."""
        return tuple(self.outputs())

    def carried_inputs(self) -> tuple:
        """Upstream names whose digests are part of this node's digest."""
        return ()

    def source_fingerprint(self):
        """The content fingerprint of what this node reads from outside the DAG (a dataset
        folder used in place), or None; part of both its signature and its digest."""
        return None

    def adopts(self, name: str, path: Path) -> bool:
        """True when what a user put at output `path` is used as it is, never rewritten
        (an archive with the right md5 at its download location)."""
        return False

    def signature_params(self) -> dict:
        return {name: value for name, value in self.param_kwargs.items()
                if self.get_params_dict()[name].significant}

    # --- variants ----------------------------------------------------------------
    @classmethod
    def get_params_dict(cls):
        return dict(cls.get_params())

    def variant_tags(self) -> list:
        """Tags of the non-default variant parameters of this node and its upstream."""
        params = self.get_params_dict()
        tags = {_tag(name, getattr(self, name)) for name in self.variant_params
                if getattr(self, name) != params[name].normalize(params[name]._default)}
        for task in self.upstream().values():
            tags.update(task.variant_tags())
        return sorted(tags)

    def variant_suffix(self) -> str:
        """'' for the defaults, else '__tag1__tag2' to append to output names."""
        return "".join(f"__{tag}" for tag in self.variant_tags())

    # --- caching -----------------------------------------------------------------
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
        signature = {"task": self.get_task_family(), "params": self.signature_params(), "inputs": inputs}
        source = self.source_fingerprint()
        if source is not None:
            signature["source"] = source
        return _as_json(signature)

    def read_manifest(self):
        try:
            return orjson.loads(self.manifest_path().read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return None

    def output_digest(self):
        """This node's digest if it is complete and current, else None."""
        manifest = self.read_manifest()
        if manifest is None or manifest.get("signature") != self.signature():
            return None
        for name, path in self.outputs().items():
            recorded = manifest["outputs"].get(name)
            if recorded is None or not still_matches(path, recorded):
                return None
        return manifest["digest"]

    def output(self):
        return ManifestTarget(self)

    def complete(self):
        return self.output_digest() is not None

    # --- running -----------------------------------------------------------------
    def lock_path(self) -> Path:
        return data_root() / ".locks" / f"{self.task_id}.lock"

    def run(self):
        configure_node_logging()
        with exclusive_lock(self.lock_path(), on_wait=self._waiting):
            if self.complete():  # another process or worker ran it (also luigi issue 2644)
                _log_run(self, "skipped: already complete")
                return
            _log_run(self, "started")
            started = time.perf_counter()
            signature = self.signature()
            info = self._build_outputs()
            described = {name: describe_output(path) for name, path in self.outputs().items()}
            outputs_digest = digest({
                "outputs": {name: _content_id(described[name]) for name in self.digested_outputs()},
                "carried": {name: signature["inputs"][name] for name in self.carried_inputs()},
                **({"source": signature["source"]} if "source" in signature else {})})
            write_json(self.manifest_path(), {
                "signature": signature, "outputs": described, "digest": outputs_digest,
                "paths": {name: str(path) for name, path in self.outputs().items()},
                "package_version": __version__, "seconds": round(time.perf_counter() - started, 3),
                "info": info}, indent=True)
            _log_run(self, "done")

    def _build_outputs(self) -> dict:
        final = {name: Path(p) for name, p in self.outputs().items()}
        self._claim_outputs(final)
        self.manifest_path().unlink(missing_ok=True)
        for path in final.values():
            path.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_tmp(path)  # what a killed earlier run of this node left
        out = {name: temporary_name(p) for name, p in final.items()} if self.stage_outputs else final
        try:
            info = self.build(out) or {}
            if self.stage_outputs:
                for name, path in final.items():
                    if not out[name].exists():
                        raise FileNotFoundError(f"{self.task_id} did not write its output {path}")
                    replace_path(out[name], path)
        finally:
            if self.stage_outputs:
                for tmp in out.values():
                    remove_path(tmp)
        record_kinds(final.values(), self.manifest_path())
        return info

    def _claim_outputs(self, final: dict):
        """Stop before anything is replaced that this node did not write, then record the
        output paths as this node's (before writing, so a killed run keeps the claim)."""
        names = {path: name for name, path in final.items()}
        foreign = [path for path in foreign_outputs(final.values(), self.manifest_path())
                   if not self.adopts(names[path], path)]
        if foreign:
            raise ForeignOutputError(
                f"{self.task_id} stops: this pipeline did not write what is at "
                f"{', '.join(map(str, foreign))} (no manifest or ownership record of this node lists "
                f"it); nothing was replaced or deleted. {self.foreign_output_advice}")
        claim(final.values(), self.manifest_path())

    def _waiting(self):
        message = "waiting: another process is running this node"
        log.info("%s %s", self.task_id, message)
        self.set_status_message(message)

    def progress(self, message: str, fraction: float = None):
        """Luigi status message / progress percentage (shown by luigid) and the log."""
        log.info("%s: %s", self.task_family, message)
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


def _tag(name: str, value) -> str:
    """A readable file-name tag for a non-default parameter value."""
    if isinstance(value, bool):
        return name if value else f"no_{name}"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{name}{value}"


def _as_json(obj):
    """`obj` as it reads back from a manifest (tuples become lists...), so a fresh
    signature compares equal to a recorded one."""
    return orjson.loads(orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS))


def _content_id(described: dict):
    kind = described["kind"]
    if kind == "file":
        return described["sha256"]
    return described["target"] if kind == "link" else [described["files"], described["size"]]

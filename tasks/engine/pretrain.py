"""Where `train.pretrain_weights` is on disk, and its sha256 (part of the training signature).

    path, sha256 = locate_pretrain_weights(config["train"], weights_dir)

The value is a local path or file:// URL (used in place, read for its sha256 on each call)
or an http(s) URL, fetched once into `weights_dir` by the datasets' downloader
(tasks.datasets.download: streamed, resumed from its `.part` after a cut, retried). The
checksum is `train.pretrain_weights_sha256` when the config gives one (PaddleDetection
publishes none for its ImageNet backbones); otherwise the sha256 of the first download is
recorded beside the file (`.<file>.sha256`) and logged, and a file that later differs from
it is an error, not a silent change of the training's start.
"""
import logging
import os
import urllib.parse
from pathlib import Path

from tasks.common.atomic import atomic_path
from tasks.common.fingerprint import sha256_file
from tasks.datasets.download import DownloadError, fetch_unverified, local_source

__all__ = ["locate_pretrain_weights", "pretrain_sha256"]

log = logging.getLogger(__name__)


def _is_remote(url: str) -> bool:
    return urllib.parse.urlsplit(url).scheme.lower() in ("http", "https")


def _record_path(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.sha256")


def _check(path: Path, got: str, expected, what: str):
    if expected and got != expected.lower():
        raise DownloadError(f"{path}: sha256 {got}, but {what} says {expected}; remove the file "
                            "to fetch it again, or correct the checksum")


def _remote_dest(url: str, weights_dir) -> Path:
    return Path(weights_dir) / Path(urllib.parse.urlsplit(url).path).name


def pretrain_sha256(train_cfg: dict, weights_dir):
    """The sha256 `locate_pretrain_weights` would give, without fetching anything: the published
    or recorded one of a URL (None before its first download), the file's own for a local path;
    None when the config names no pretrain weights."""
    spec = train_cfg.get("pretrain_weights")
    if not spec:
        return None
    if not _is_remote(spec):
        return sha256_file(local_source(spec))
    record = _record_path(_remote_dest(spec, weights_dir))
    return train_cfg.get("pretrain_weights_sha256") or (record.read_text().strip() if record.is_file() else None)


def locate_pretrain_weights(train_cfg: dict, weights_dir, progress=False) -> tuple:
    """(path, sha256) of the config's pretrain weights, fetched into `weights_dir` if remote;
    (None, None) when the config names none."""
    spec, expected = train_cfg.get("pretrain_weights"), train_cfg.get("pretrain_weights_sha256")
    if not spec:
        return None, None
    if not _is_remote(spec):
        path = local_source(spec)
        if not path.is_file():
            raise FileNotFoundError(f"train.pretrain_weights {spec}: no such file {path}")
        got = sha256_file(path)
        _check(path, got, expected, "train.pretrain_weights_sha256")
        return path, got
    dest = _remote_dest(spec, weights_dir)
    record = _record_path(dest)
    recorded = record.read_text().strip() if record.is_file() else None
    if not dest.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        fetched = fetch_unverified(spec, dest, progress=progress)
        got = sha256_file(fetched)
        _check(fetched, got, expected or recorded, "train.pretrain_weights_sha256 or the first download")
        os.replace(fetched, dest)
    got = sha256_file(dest)
    _check(dest, got, expected or recorded, "train.pretrain_weights_sha256 or the record of the first download")
    if recorded is None:
        with atomic_path(record) as tmp:
            Path(tmp).write_text(got + "\n")
        log.info("pretrain weights %s fetched to %s, sha256 %s (recorded in %s: a later file must match it)",
                 spec, dest, got, record)
    return dest, got

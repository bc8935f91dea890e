"""A full disk is reported with the path being written, the bytes needed and the bytes free:
checked before an extraction or a download starts, and an ENOSPC while writing names the file."""
import errno
import os
import shutil
from collections import namedtuple
from pathlib import Path

import pytest
import yaml

import tasks.datasets.download as download_module
from tasks.common.diskspace import DiskFullError
from tasks.datasets.download import download
from tasks.datasets.extract import extract

ARCHIVES = [("coco", "train2017"), ("aic", "keypoint_train")]
Usage = namedtuple("Usage", "total used free")


def sample_archive(sample_dir, dataset, archive):
    entry = yaml.safe_load((sample_dir / "datasets.yml").read_text())[dataset][archive]
    return Path(entry["url"].removeprefix("file://")), entry["md5"]


@pytest.fixture
def copies_only(monkeypatch):
    """Local archives copied, as from another file system (a hard link needs no space)."""
    def cross_device(src, dst, **kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")
    monkeypatch.setattr(os, "link", cross_device)


@pytest.fixture
def only_1000_bytes_free(monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**9, 10**9 - 1000, 1000))


@pytest.mark.parametrize("dataset, archive", ARCHIVES)
def test_extraction_checks_the_uncompressed_size_first(sample_dir, tmp_path, only_1000_bytes_free,
                                                       dataset, archive):
    source, _ = sample_archive(sample_dir, dataset, archive)
    dest = tmp_path / "extracted" / dataset / archive
    with pytest.raises(DiskFullError) as caught:
        extract(source, dest, progress=False)
    message = str(caught.value)
    assert f"not enough free space in {dest.parent} for extracting {source.name}" in message
    assert "1000 bytes (0.00 GB) free" in message and caught.value.errno == errno.ENOSPC
    assert list(dest.parent.iterdir()) == []   # nothing written, no temporary left


@pytest.mark.parametrize("dataset, archive", ARCHIVES)
def test_download_checks_the_known_size_first(sample_dir, tmp_path, only_1000_bytes_free, copies_only,
                                              dataset, archive):
    source, md5 = sample_archive(sample_dir, dataset, archive)
    dest = tmp_path / "downloads" / source.name
    with pytest.raises(DiskFullError) as caught:
        download([source.as_uri()], dest, md5, progress=False)
    assert (f"not enough free space in {dest.parent} for downloading {source.name}: "
            f"{source.stat().st_size} bytes") in str(caught.value)
    assert not dest.exists()


def test_a_hard_linked_local_archive_needs_no_free_space(sample_dir, tmp_path, only_1000_bytes_free):
    source, md5 = sample_archive(sample_dir, "aic", "keypoint_train")
    dest = tmp_path / "downloads" / source.name
    download([source.as_uri()], dest, md5, progress=False)
    assert dest.stat().st_ino == source.stat().st_ino


def no_space_left(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("dataset, archive", ARCHIVES)
def test_enospc_while_extracting_names_the_file(sample_dir, tmp_path, monkeypatch, dataset, archive):
    source, _ = sample_archive(sample_dir, dataset, archive)
    monkeypatch.setattr(shutil, "copyfileobj", no_space_left)   # zipfile writes each entry with it
    dest = tmp_path / "extracted" / archive
    with pytest.raises(DiskFullError, match=r"disk full while writing .*\.tmp-.*\.(jpg|json) \("):
        extract(source, dest, progress=False)
    assert not dest.exists()


class FullFile:
    """A file object whose writes fail as on a full disk."""

    def __init__(self, handle):
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()

    write = staticmethod(no_space_left)


@pytest.mark.parametrize("dataset, archive", ARCHIVES)
def test_enospc_while_downloading_names_the_part_file(sample_dir, tmp_path, monkeypatch, copies_only,
                                                      dataset, archive):
    source, md5 = sample_archive(sample_dir, dataset, archive)
    def open_part_full(path, mode="r"):   # the .part is opened for appending
        return FullFile(open(path, mode)) if mode == "ab" else open(path, mode)
    monkeypatch.setattr(download_module, "open", open_part_full, raising=False)
    dest = tmp_path / "downloads" / source.name
    with pytest.raises(DiskFullError, match=f"disk full while writing {dest}.part"):
        download([source.as_uri()], dest, md5, progress=False)
    assert not dest.exists()


def test_enospc_in_an_atomic_write_names_the_target(tmp_path, monkeypatch):
    from tasks.common.atomic import write_json
    monkeypatch.setattr(Path, "write_bytes", no_space_left)
    target = tmp_path / "annotations" / "aic_train_cocoformat.json"
    with pytest.raises(DiskFullError, match=f"disk full while writing {target} "):
        write_json(target, {"images": []})
    assert list(target.parent.iterdir()) == []

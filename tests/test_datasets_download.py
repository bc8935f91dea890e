"""download(): resume, Range-less servers, checksums, errors, retries, mirrors, local sources."""
import errno
import hashlib
import logging
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from datasets_http import LoopbackServer, Route
from tasks.datasets.checksum import cached_md5, file_md5, sidecar_path
from tasks.datasets.download import ChecksumError, DownloadError, download

ROOT = Path(__file__).resolve().parents[1]
DATA = os.urandom(300_000)
MD5 = hashlib.md5(DATA).hexdigest()
# Small blocks: bytes in flight when a connection is cut are lost, whole blocks are kept.
FAST = {"timeout": 5, "retries": 3, "backoff": 0.01, "chunk": 16384, "progress": False}
CUT = 6 * 16384


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


def _part(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def test_plain_download_writes_dest_and_md5_sidecar(server, tmp_path):
    server.routes["/a.zip"] = Route(DATA)
    dest = tmp_path / "a.zip"
    assert download([server.url("/a.zip")], dest, MD5, **{**FAST, "progress": True}) == dest
    assert dest.read_bytes() == DATA
    assert not _part(dest).exists()
    assert cached_md5(dest) == MD5


def test_resume_after_cut_uses_range(server, tmp_path):
    server.routes["/a.zip"] = Route(DATA, cut_after=CUT)
    dest = tmp_path / "a.zip"
    download([server.url("/a.zip")], dest, MD5, **FAST)
    first, second = server.requests_for("/a.zip")
    assert "Range" not in first
    assert second["Range"] == f"bytes={CUT}-"
    assert dest.read_bytes() == DATA


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    server.routes["/a.zip"] = Route(DATA, ranges=False, cut_after=CUT)
    dest = tmp_path / "a.zip"
    download([server.url("/a.zip")], dest, MD5, **FAST)
    first, second = server.requests_for("/a.zip")  # no third, clean try
    assert second["Range"] == f"bytes={CUT}-"  # asked to resume, got 200: began again
    assert dest.read_bytes() == DATA


def test_checksum_mismatch_removes_part_and_names_both_md5(server, tmp_path):
    server.routes["/a.zip"] = Route(DATA)
    dest = tmp_path / "a.zip"
    wrong = "0" * 32
    with pytest.raises(ChecksumError) as err:
        download([server.url("/a.zip")], dest, wrong, **FAST)
    assert wrong in str(err.value) and MD5 in str(err.value)
    assert server.url("/a.zip") in str(err.value)
    assert not dest.exists() and not _part(dest).exists()


def test_404_is_a_clear_error_without_retries(server, tmp_path):
    dest = tmp_path / "a.zip"
    with pytest.raises(DownloadError, match=r"404.*a\.zip") as err:
        download([server.url("/missing.zip")], dest, MD5, **FAST)
    assert server.url("/missing.zip") in str(err.value)
    assert len(server.requests) == 1
    assert not dest.exists()


def test_500_then_success_is_retried(server, tmp_path):
    server.routes["/a.zip"] = Route(DATA, fail_first=2)
    dest = tmp_path / "a.zip"
    download([server.url("/a.zip")], dest, MD5, **FAST)
    assert len(server.requests_for("/a.zip")) == 3
    assert dest.read_bytes() == DATA


def test_persistent_500_gives_up_after_retries(server, tmp_path):
    server.routes["/a.zip"] = Route(DATA, fail_first=100)
    with pytest.raises(DownloadError, match="giving up after 3 retries.*500"):
        download([server.url("/a.zip")], tmp_path / "a.zip", MD5, **FAST)
    assert len(server.requests_for("/a.zip")) == 4


def test_read_timeout_is_retried(server, tmp_path):
    route = server.routes["/a.zip"] = Route(DATA, stall=True)  # first request: never answered
    dest = tmp_path / "a.zip"
    try:
        download([server.url("/a.zip")], dest, MD5, **{**FAST, "timeout": 1.0})
    finally:
        route.release.set()
    assert len(server.requests_for("/a.zip")) == 2
    assert dest.read_bytes() == DATA


def test_mirror_fallback_after_404_and_bad_checksum(server, tmp_path):
    server.routes["/bad.zip"] = Route(b"x" * 1000)
    server.routes["/good.zip"] = Route(DATA)
    dest = tmp_path / "a.zip"
    urls = [server.url("/gone.zip"), server.url("/bad.zip"), server.url("/good.zip")]
    download(urls, dest, MD5, **FAST)
    assert dest.read_bytes() == DATA
    assert [p for p, _ in server.requests] == ["/gone.zip", "/bad.zip", "/good.zip"]


def test_all_mirrors_failing_lists_each(server, tmp_path):
    urls = [server.url("/one.zip"), server.url("/two.zip")]
    with pytest.raises(DownloadError) as err:
        download(urls, tmp_path / "a.zip", MD5, **FAST)
    assert all(u in str(err.value) for u in urls)


def test_present_archive_is_not_fetched_again(server, tmp_path):
    dest = tmp_path / "a.zip"
    dest.write_bytes(DATA)
    assert download([server.url("/a.zip")], dest, MD5, **FAST) == dest
    assert server.requests == []
    assert cached_md5(dest) == MD5  # a second check reads the sidecar, not the file


def test_present_archive_with_wrong_md5_is_replaced(server, tmp_path):
    server.routes["/a.zip"] = Route(DATA)
    dest = tmp_path / "a.zip"
    dest.write_bytes(b"truncated")
    download([server.url("/a.zip")], dest, MD5, **FAST)
    assert dest.read_bytes() == DATA


def test_file_url_and_plain_path_are_hard_linked_not_copied(tmp_path):
    src = tmp_path / "src dir" / "archive.zip"
    src.parent.mkdir()
    src.write_bytes(DATA)
    for i, url in enumerate([src.as_uri(), str(src)]):
        dest = tmp_path / f"out{i}" / "archive.zip"
        download([url], dest, MD5, **FAST)
        assert dest.read_bytes() == DATA and not dest.is_symlink()
        assert dest.stat().st_ino == src.stat().st_ino   # one copy on disk
    assert sorted(p.name for p in src.parent.iterdir()) == ["archive.zip"]   # nothing written beside it


def no_hard_links(monkeypatch):
    def cross_device(src, dst, **kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")
    monkeypatch.setattr(os, "link", cross_device)


def test_local_archive_on_another_file_system_is_copied_and_logged(tmp_path, monkeypatch, caplog):
    no_hard_links(monkeypatch)
    src = tmp_path / "archive.zip"
    src.write_bytes(DATA)
    dest = tmp_path / "out" / "archive.zip"
    with caplog.at_level(logging.WARNING):
        download([str(src)], dest, MD5, **FAST)
    assert dest.read_bytes() == DATA and dest.stat().st_ino != src.stat().st_ino
    assert f"cannot hard-link {src} into {dest.parent} (Invalid cross-device link): copying" in caplog.text


def test_local_archive_with_the_wrong_md5_is_not_linked(tmp_path):
    src = tmp_path / "archive.zip"
    src.write_bytes(DATA[::-1])
    dest = tmp_path / "out" / "archive.zip"
    with pytest.raises(ChecksumError, match=f"md5 mismatch for archive.zip at {src}"):
        download([str(src)], dest, MD5, **FAST)
    assert list(dest.parent.iterdir()) == [dest.with_name(".archive.zip.lock")]


def test_local_copy_resumes_a_part(tmp_path, monkeypatch):
    no_hard_links(monkeypatch)
    src = tmp_path / "archive.zip"
    src.write_bytes(DATA)
    dest = tmp_path / "out" / "archive.zip"
    dest.parent.mkdir()
    _part(dest).write_bytes(DATA[:1000])
    download([str(src)], dest, MD5, **FAST)
    assert dest.read_bytes() == DATA


def test_part_from_other_bytes_is_discarded_and_fetched_again(server, tmp_path):
    server.routes["/a.zip"] = Route(DATA)
    dest = tmp_path / "a.zip"
    _part(dest).write_bytes(b"garbage" * 100)
    download([server.url("/a.zip")], dest, MD5, **FAST)
    ranges = [h.get("Range") for h in server.requests_for("/a.zip")]
    assert ranges == ["bytes=700-", None]
    assert dest.read_bytes() == DATA


def test_complete_part_from_a_killed_run_is_accepted(server, tmp_path):
    server.routes["/a.zip"] = Route(DATA)
    dest = tmp_path / "a.zip"
    _part(dest).write_bytes(DATA)  # killed after the last byte, before the rename
    download([server.url("/a.zip")], dest, MD5, **FAST)
    assert dest.read_bytes() == DATA
    assert len(server.requests) == 1  # answered 416, no byte sent again


def test_missing_local_file_and_placeholder_md5_are_clear(tmp_path):
    with pytest.raises(DownloadError, match="no such file"):
        download([str(tmp_path / "nope.zip")], tmp_path / "a.zip", MD5, **FAST)
    with pytest.raises(DownloadError, match="md5sum"):
        download(["file:///x.zip"], tmp_path / "a.zip", "fill-in-the-md5-of-your-copy", **FAST)


def test_md5_cache_is_keyed_by_size_and_mtime(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(DATA)
    assert file_md5(path) == MD5
    assert sidecar_path(path).name == ".big.bin.md5.json"
    path.write_bytes(DATA[::-1])
    os.utime(path, ns=(1, 1))
    assert cached_md5(path) is None
    assert file_md5(path) == hashlib.md5(DATA[::-1]).hexdigest()


_DOWNLOAD_SCRIPT = """
import sys
from pathlib import Path
from tasks.datasets.download import download
download([sys.argv[1]], Path(sys.argv[2]), sys.argv[3], timeout=600, chunk=4096, progress=False)
"""
HELD_AT = 64 * 1024  # the server sends this much, then holds the connection open


def test_killed_download_resumes_with_range(server, tmp_path):
    # The server sends HELD_AT bytes and waits: the process cannot finish before it is
    # killed, however slowly it runs; at least half of those bytes reach the .part (the
    # rest may sit in the file's write buffer when the kill comes).
    route = server.routes["/a.zip"] = Route(DATA, hold_after=HELD_AT)
    dest = tmp_path / "a.zip"
    proc = subprocess.Popen([sys.executable, "-c", _DOWNLOAD_SCRIPT, server.url("/a.zip"),
                             str(dest), MD5], cwd=ROOT)
    try:
        deadline = time.monotonic() + 120  # a hang guard only: nothing races against it
        while not (_part(dest).exists() and _part(dest).stat().st_size >= HELD_AT // 2):
            assert proc.poll() is None, f"the download process ended early ({proc.returncode})"
            assert time.monotonic() < deadline, "the download process never wrote the held bytes"
            time.sleep(0.01)
    finally:
        proc.kill()
        proc.wait(30)
        route.release.set()
    kept = _part(dest).stat().st_size
    assert not dest.exists() and HELD_AT // 2 <= kept <= HELD_AT

    download([server.url("/a.zip")], dest, MD5, **FAST)
    assert server.requests_for("/a.zip")[-1]["Range"] == f"bytes={kept}-"
    assert dest.read_bytes() == DATA and not _part(dest).exists()


def test_concurrent_calls_fetch_once(server, tmp_path):
    # Luigi may run the same task twice at once (issue 2644): the second call waits, then reuses.
    server.routes["/a.zip"] = Route(DATA, block=16384, delay=0.005)
    dest = tmp_path / "a.zip"
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: download([server.url("/a.zip")], dest, MD5, **FAST),
                                range(2)))
    assert results == [dest, dest] and dest.read_bytes() == DATA
    assert len(server.requests_for("/a.zip")) == 1

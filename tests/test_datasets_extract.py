"""extract(): zip and tar formats, refused entries, atomic replacement, killed extraction."""
import io
import os
import signal
import stat
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from tasks.datasets.extract import UnsafeArchiveError, extract

ROOT = Path(__file__).resolve().parents[1]
FILES = {"top/a.txt": b"alpha", "top/sub/b.bin": bytes(range(256)) * 10}


def _zip(path, files=FILES, links=()):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        for name, target in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def _tar(path, files=FILES, mode="w", extra=()):
    with tarfile.open(path, mode) as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for info in extra:
            tf.addfile(info)
    return path


def _tree(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name,make", [
    ("a.zip", _zip),
    ("a.tar", _tar),
    ("a.tar.gz", lambda p: _tar(p, mode="w:gz")),
    ("a.tgz", lambda p: _tar(p, mode="w:gz")),
    ("a.tar.bz2", lambda p: _tar(p, mode="w:bz2")),
])
def test_formats_extract_completely(tmp_path, name, make):
    archive = make(tmp_path / name)
    out = extract(archive, tmp_path / "out", progress=(name == "a.zip"))
    assert out == tmp_path / "out"
    assert _tree(out) == FILES
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "out"])  # no temporaries


def test_existing_folder_is_replaced_whole(tmp_path):
    out = tmp_path / "out"
    (out / "stale").mkdir(parents=True)
    (out / "stale" / "old.txt").write_text("old")
    extract(_zip(tmp_path / "a.zip"), out, progress=False)
    assert _tree(out) == FILES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip", "out"]


def _refused(archive: Path, out: Path, entry: str):
    with pytest.raises(UnsafeArchiveError) as err:
        extract(archive, out, progress=False)
    assert str(archive) in str(err.value) and entry in str(err.value)
    assert not out.exists()
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []
    return str(err.value)


def test_zip_slip_is_refused(tmp_path):
    archive = _zip(tmp_path / "a.zip", {**FILES, "top/../../evil.txt": b"x"})
    assert "escapes" in _refused(archive, tmp_path / "out", "../evil.txt")
    assert not (tmp_path / "evil.txt").exists()


def test_absolute_paths_are_refused(tmp_path):
    msg = _refused(_zip(tmp_path / "a.zip", {"/etc/evil": b"x"}), tmp_path / "o1", "/etc/evil")
    assert "absolute" in msg
    _refused(_tar(tmp_path / "a.tar", {"/tmp/evil": b"x"}), tmp_path / "o2", "/tmp/evil")


def test_tar_dotdot_is_refused(tmp_path):
    _refused(_tar(tmp_path / "a.tar", {"../evil": b"x"}), tmp_path / "out", "../evil")


@pytest.mark.parametrize("kind,linktype", [("symlink", tarfile.SYMTYPE),
                                           ("hardlink", tarfile.LNKTYPE)])
def test_tar_links_are_refused(tmp_path, kind, linktype):
    link = tarfile.TarInfo("top/link")
    link.type, link.linkname = linktype, "/etc/passwd"
    archive = _tar(tmp_path / "a.tar.gz", mode="w:gz", extra=[link])
    assert kind in _refused(archive, tmp_path / "out", "top/link")


def test_tar_device_is_refused(tmp_path):
    dev = tarfile.TarInfo("top/dev")
    dev.type = tarfile.CHRTYPE
    _refused(_tar(tmp_path / "a.tar", extra=[dev]), tmp_path / "out", "top/dev")


def test_zip_symlink_is_refused(tmp_path):
    archive = _zip(tmp_path / "a.zip", links=[("top/link", "/etc/passwd")])
    assert "symlink" in _refused(archive, tmp_path / "out", "top/link")


def test_not_an_archive(tmp_path):
    bogus = tmp_path / "a.zip"
    bogus.write_bytes(b"not an archive")
    with pytest.raises(ValueError, match="neither a zip nor a tar"):
        extract(bogus, tmp_path / "out", progress=False)


# Slows each member down (inside zipfile only) so the kill lands mid-way.
_EXTRACT_SCRIPT = """
import sys, time, zipfile
from pathlib import Path
open_member = zipfile.ZipFile.open
def slow_open(self, *args, **kwargs):
    time.sleep(0.01)
    return open_member(self, *args, **kwargs)
zipfile.ZipFile.open = slow_open
from tasks.datasets.extract import extract
extract(Path(sys.argv[1]), Path(sys.argv[2]), progress=False)
"""


def test_killed_extract_leaves_no_target_and_rerun_succeeds(tmp_path):
    files = {f"top/{i:04d}.bin": os.urandom(4096) for i in range(300)}
    archive = _zip(tmp_path / "big.zip", files)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", _EXTRACT_SCRIPT, str(archive), str(out)],
                            cwd=ROOT)
    deadline = time.monotonic() + 20
    while True:
        tmps = list(tmp_path.glob(".tmp-*-out/top"))
        if tmps and len(os.listdir(tmps[0])) >= 20:
            break
        assert proc.poll() is None and time.monotonic() < deadline, "extract ended too early"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert not out.exists()
    assert list(tmp_path.glob(".tmp-*-out"))  # the killed run's leftover ...

    extract(archive, out, progress=False)
    assert _tree(out) == files
    assert not list(tmp_path.glob(".*-out"))  # ... is cleaned by the next run

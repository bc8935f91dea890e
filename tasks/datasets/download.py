"""Fetch one dataset archive: streamed, resumable, md5-verified, with mirrors.

`download(urls, dest, md5)` tries each URL in turn (primary first, then
mirrors). Bytes go to `<dest>.part`; an interrupted transfer (lost connection,
killed process) resumes from the end of the `.part` with an HTTP Range request,
and starts again from zero when the server ignores Range. The md5 is computed
while the bytes arrive and checked before the `.part` is renamed onto `dest`,
so `dest` only ever exists complete and verified. Sources may be http(s)://,
file:// or a plain path to an archive already on disk. A local archive is
hard-linked to `dest` (no second copy on disk, and the original is never opened
for writing), read once for its md5; only where a hard link is impossible (another
file system, a file system without them) is it copied, and the log says so.
"""
import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import re
import time
import urllib.parse
import urllib.request
from pathlib import Path

import requests

from tasks.common.atomic import temporary_name
from tasks.common.diskspace import naming_path, require_free
from tasks.common.logs import progress_bar
from tasks.datasets.checksum import PROGRESS_MIN_BYTES, file_md5, md5_of, record_md5

log = logging.getLogger(__name__)
_MD5_RE = re.compile(r"^[0-9a-f]{32}$")
_CONTENT_RANGE_RE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
#: HTTP answers worth retrying: the server or a proxy may recover.
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
#: Why a hard link can fail where a copy still works.
_NO_HARD_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES}


class DownloadError(RuntimeError):
    """An archive could not be fetched from any of its URLs."""


class ChecksumError(DownloadError):
    """The fetched bytes do not have the expected md5 (the bad `.part` is removed)."""


class _Retry(Exception):
    """A transient failure (timeout, lost connection, 5xx): try the same URL again."""


class _Restart(Exception):
    """The `.part` cannot be continued: discard it and fetch from byte zero."""


class _Partial:
    """The `.part` file and the md5 of the bytes it holds so far.

    The digest follows the bytes as they are appended, so the final check
    needs no second pass over a multi-gigabyte file.
    """

    def __init__(self, dest: Path, progress: bool):
        self.dest = dest
        self.path = dest.with_suffix(dest.suffix + ".part")
        self.digest = hashlib.md5()
        self.size = 0
        if self.path.exists():  # left by an earlier, interrupted run: hash what it holds
            size = self.path.stat().st_size
            with open(self.path, "rb") as f, progress_bar(
                total=size, unit="B", unit_scale=True, unit_divisor=1024,
                desc=f"md5 {self.path.name}", enabled=progress and size >= PROGRESS_MIN_BYTES,
            ) as bar:
                for block in iter(lambda: f.read(1 << 20), b""):
                    self._count(block, bar)

    def reset(self):
        self.path.unlink(missing_ok=True)
        self.digest = hashlib.md5()
        self.size = 0

    def _count(self, block, bar):
        self.digest.update(block)
        self.size += len(block)
        bar.update(len(block))

    def require_room_for(self, total):
        """Stop before fetching when the folder cannot hold the rest of a `total`-byte file."""
        if total is not None:
            require_free(self.path.parent, total - self.size, f"downloading {self.dest.name}")

    def append_from(self, blocks, bar):
        with naming_path(self.path), open(self.path, "ab") as f:
            for block in blocks:
                if block:
                    f.write(block)
                    self._count(block, bar)


def download(urls, dest, md5, *, timeout=30, retries=5, backoff=1.0, chunk=1 << 20,
             progress=True) -> Path:
    """Fetch the archive `dest` from the first of `urls` that delivers it intact.

    urls: primary URL first, then mirrors; each http(s)://, file:// or a plain
        local path. A URL that fails for good (404, checksum mismatch, retries
        used up) hands over to the next one.
    md5: expected hex digest; checked before `dest` appears.
    timeout: seconds to connect and between received bytes.
    retries: further attempts per URL after timeouts, lost connections and
        5xx answers, waiting backoff * 2**k seconds; an attempt that brought
        new bytes does not use one up.
    Returns `dest`. If `dest` is already there with the right md5 nothing is
    fetched. Raises ChecksumError when every URL delivered wrong bytes, else
    DownloadError naming each URL and what went wrong.
    """
    dest = Path(dest)
    urls = [str(u) for u in urls]
    if not urls:
        raise ValueError(f"no URL given for {dest}")
    md5 = str(md5).strip().lower()
    if not _MD5_RE.match(md5):
        raise DownloadError(
            f"{dest.name}: {md5!r} is not an md5 (32 hex digits). An archive whose md5 is not "
            f"published (AI Challenger) needs the md5 of your own copy in the datasets config: "
            f"run `md5sum <archive>` and put the result in its `md5` key.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(dest):  # a second process fetching the same archive waits here
        if dest.exists():
            if file_md5(dest, progress=progress) == md5:
                return dest
            log.warning("%s exists but its md5 is not %s; fetching it again", dest, md5)
        part = _Partial(dest, progress)
        failures = []
        for url in urls:
            try:
                if not _linked_verified(url, part, md5, progress):
                    _fetch_verified(url, part, md5, timeout=timeout, retries=retries,
                                    backoff=backoff, chunk=chunk, progress=progress)
                    os.replace(part.path, dest)
            except DownloadError as err:
                failures.append(err)
                continue
            record_md5(dest, md5)
            return dest
    if len(failures) == 1:
        raise failures[0]
    kind = ChecksumError if all(isinstance(e, ChecksumError) for e in failures) else DownloadError
    lines = "\n".join(f"  - {e}" for e in failures)
    raise kind(f"could not fetch {dest} from any of its {len(urls)} URLs:\n{lines}"
               ) from failures[-1]


def fetch_unverified(url, dest, *, timeout=30, retries=5, backoff=1.0, chunk=1 << 20, progress=True) -> Path:
    """Fetch `url` (as `download` does: resumed after a cut, retried) into the partial file of
    `dest`, for a file without a published checksum (pretrained weights); returns that partial
    file, for the caller to verify and rename onto `dest`."""
    part = _Partial(Path(dest), progress)
    _fetch(url, part, timeout=timeout, retries=retries, backoff=backoff, chunk=chunk, progress=progress)
    return part.path


@contextlib.contextmanager
def _exclusive(dest: Path):
    """Hold an OS lock on `.<name>.lock` beside `dest` (released when the process dies)."""
    with open(dest.with_name(f".{dest.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _linked_verified(url, part, md5, progress) -> bool:
    """Hard-link a local archive onto `part.dest` once its md5 is checked; False when `url` is
    not local or cannot be hard-linked there (the caller copies it instead)."""
    if "://" in url and urllib.parse.urlsplit(url).scheme.lower() != "file":
        return False
    src = local_source(url)
    if not src.is_file():
        raise DownloadError(f"{url}: no such file {src} (fetching {part.dest})")
    tmp = temporary_name(part.dest)
    try:
        os.link(src, tmp)
    except OSError as err:
        if err.errno not in _NO_HARD_LINK:
            raise
        log.warning("cannot hard-link %s into %s (%s): copying it instead, %d bytes",
                    src, part.dest.parent, os.strerror(err.errno), src.stat().st_size)
        return False
    try:
        got = md5_of(tmp, progress=progress)
        if got != md5:
            raise ChecksumError(f"md5 mismatch for {part.dest.name} at {src}: expected {md5}, got {got}")
        os.replace(tmp, part.dest)
    finally:
        tmp.unlink(missing_ok=True)
    part.reset()  # a .part of an earlier copy is not needed any more
    return True


def _fetch_verified(url, part, md5, *, timeout, retries, backoff, chunk, progress):
    """Fill `part` from `url` and check its md5; raises DownloadError when `url` fails for good."""
    resumed = part.size > 0
    _fetch(url, part, timeout=timeout, retries=retries, backoff=backoff, chunk=chunk,
           progress=progress)
    got = part.digest.hexdigest()
    if got != md5 and resumed:
        # The kept bytes may come from another file or mirror: one clean try from zero.
        part.reset()
        _fetch(url, part, timeout=timeout, retries=retries, backoff=backoff, chunk=chunk,
               progress=progress)
        got = part.digest.hexdigest()
    if got != md5:
        part.reset()
        raise ChecksumError(
            f"md5 mismatch for {part.dest.name} fetched from {url}: "
            f"expected {md5}, got {got} ({part.path} removed)")


def _fetch(url, part, *, timeout, retries, backoff, chunk, progress):
    """Bring `part` to the full content of `url`, retrying transient failures."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        fetch_once = _http_once
    elif scheme == "file" or "://" not in url:
        fetch_once = _copy_once
    else:
        raise DownloadError(f"{url}: unsupported URL scheme {scheme!r} (use http, https, file "
                            f"or a local path) for {part.dest}")
    failed = 0
    while True:
        before = part.size
        try:
            fetch_once(url, part, timeout=timeout, chunk=chunk, progress=progress)
            return
        except _Restart as err:
            if not part.size:
                raise DownloadError(f"{url}: the server's answer does not fit a request "
                                    f"from byte 0 ({err}); fetching {part.dest}") from err
            part.reset()
            continue
        except _Retry as err:
            failed = 0 if part.size > before else failed + 1
            if failed > retries:
                kept = f"; {part.size} bytes kept in {part.path} to resume" if part.size else ""
                raise DownloadError(f"{url}: giving up after {retries} retries ({err}) "
                                    f"fetching {part.dest}{kept}") from err
            if failed:
                time.sleep(backoff * 2 ** (failed - 1))


def _bar(part, total, progress):
    return progress_bar(total=total, initial=part.size, unit="B", unit_scale=True, unit_divisor=1024,
                        desc=part.dest.name, enabled=progress, miniters=1)


def _http_once(url, part, *, timeout, chunk, progress):
    headers = {"Accept-Encoding": "identity"}  # byte offsets must be those of the file
    if part.size:
        headers["Range"] = f"bytes={part.size}-"
    try:
        with requests.get(url, headers=headers, stream=True, timeout=timeout) as r:
            total = _check_response(url, part, r)
            if r.status_code == 416:  # the .part already holds every byte
                return
            expected = total - part.size if total is not None else None
            part.require_room_for(total)
            before = part.size
            with _bar(part, total, progress) as bar:
                part.append_from(r.iter_content(chunk), bar)
    except (requests.ConnectionError, requests.Timeout,
            requests.exceptions.ChunkedEncodingError) as err:
        raise _Retry(f"{type(err).__name__}: {err}") from err
    if expected is not None and part.size - before != expected:
        raise _Retry(f"connection closed after {part.size - before} of {expected} bytes")


def _check_response(url, part, r):
    """Decide from the status what to do with `part`; returns the full size if known."""
    dest = part.dest
    if r.status_code in _RETRY_STATUS:
        raise _Retry(f"HTTP {r.status_code} {r.reason}")
    if r.status_code == 416 and part.size:
        # Nothing left past our offset: the .part may already be complete (the
        # earlier run was killed before the rename), which the md5 check decides.
        m = re.match(r"^bytes \*/(\d+)$", r.headers.get("Content-Range", ""))
        if m and int(m.group(1)) == part.size:
            return part.size
        raise _Restart("416 with a smaller file")
    if r.status_code >= 400:
        raise DownloadError(f"{url}: HTTP {r.status_code} {r.reason} (fetching {dest})")
    if r.status_code == 206:
        m = _CONTENT_RANGE_RE.match(r.headers.get("Content-Range", ""))
        if not m or int(m.group(1)) != part.size:
            raise _Restart(f"206 with Content-Range {r.headers.get('Content-Range')!r}")
        return int(m.group(3)) if m.group(3) != "*" else None
    if r.status_code != 200:
        raise DownloadError(f"{url}: unexpected HTTP {r.status_code} {r.reason} (fetching {dest})")
    if part.size:  # the server ignored our Range and sends the whole file
        part.reset()
    length = r.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def local_source(url: str) -> Path:
    """The file a file:// URL or a plain path names."""
    split = urllib.parse.urlsplit(url)
    if split.scheme.lower() == "file":
        if split.netloc not in ("", "localhost"):
            raise DownloadError(f"{url}: file:// URLs must name a local file (file:///abs/path)")
        return Path(urllib.request.url2pathname(split.path))
    return Path(url).expanduser()


def _copy_once(url, part, *, timeout, chunk, progress):
    """Copy a local archive into `part`, continuing after the bytes it already holds."""
    src = local_source(url)
    if not src.is_file():
        raise DownloadError(f"{url}: no such file {src} (fetching {part.dest})")
    total = src.stat().st_size
    if part.size > total:
        raise _Restart(f"{src} is smaller than the .part")
    part.require_room_for(total)
    with open(src, "rb") as f, _bar(part, total, progress) as bar:
        f.seek(part.size)
        part.append_from(iter(lambda: f.read(chunk), b""), bar)


__all__ = ["download", "fetch_unverified", "local_source", "DownloadError", "ChecksumError"]

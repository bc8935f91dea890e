"""One image file checked by decoding it fully once: is it whole, is it an image, its size.

Why more than "the decoder returned an image": libjpeg decodes a JPEG that ends early to a
full-size image, grey where the data stopped, and only warns on stderr. So

* a JPEG must carry its end-of-image marker (FF D9) after the start of its scan (the walk
  skips the header segments, so an EXIF thumbnail's own marker does not count), a PNG its
  IEND chunk;
* the file is decoded with OpenCV at 1/8 scale (`IMREAD_REDUCED_COLOR_8`): libjpeg still
  entropy-decodes every block to reach the end of the data, it only skips most of the
  inverse DCT and the colour conversion, so it finds what a full decode finds for less
  (figures in docs/data.md, bench/verify_images.py);
* what the decoders write to file descriptor 2 during the decode is captured: libjpeg's
  "Corrupt JPEG data" and "Premature end of JPEG file" warnings reject the file, any other
  message is passed on to stderr.

The size is read from the header (the stored pixels, EXIF orientation ignored), as the
converters read it.
"""
import os
import struct
import tempfile
from pathlib import Path
from typing import NamedTuple, Optional

import cv2
import numpy as np

from tasks.annotations.imagesize import PNG_SIGNATURE, image_size

MISSING = "missing file"
UNREADABLE = "unreadable file"
EMPTY = "zero bytes"
NOT_IMAGE = "not an image"
TRUNCATED = "truncated"
CORRUPT = "corrupt data"
SIZE_DIFFERS = "size differs from annotation"

DECODE_FLAGS = cv2.IMREAD_REDUCED_COLOR_8 | cv2.IMREAD_IGNORE_ORIENTATION
DECODER = f"opencv {cv2.__version__} IMREAD_REDUCED_COLOR_8"   # cached results name the decoder
FATAL_MESSAGES = ("Corrupt JPEG data", "Premature end of JPEG file")
_JPEG_SOS, _JPEG_EOI = 0xDA, b"\xff\xd9"
_JPEG_NO_LENGTH = frozenset(range(0xD0, 0xD9)) | {0x01}
_PNG_END = b"\0\0\0\0IEND"


class FileCheck(NamedTuple):
    """What one file is: `reason` None for a good image, with its header size."""
    reason: Optional[str] = None
    detail: Optional[str] = None
    width: Optional[int] = None
    height: Optional[int] = None


def _jpeg_scan_start(data: bytes):
    """Offset of the first start-of-scan marker, walking the header segments; None if
    the file ends (or breaks) before it."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        code = data[pos + 1]
        if code == 0xFF:          # fill byte
            pos += 1
        elif code in _JPEG_NO_LENGTH:
            pos += 2
        elif code == _JPEG_SOS:
            return pos
        else:
            pos += 2 + struct.unpack_from(">H", data, pos + 2)[0]
    return None


def _truncation(data: bytes):
    """Why a JPEG or PNG file is cut short, or None (other formats: the decoder decides)."""
    if data[:2] == b"\xff\xd8":
        scan = _jpeg_scan_start(data)
        if scan is None:
            return "JPEG ends before its scan data"
        if data.rfind(_JPEG_EOI) < scan:
            return f"JPEG without its end-of-image marker (FF D9); the file ends at byte {len(data)}"
    elif data.startswith(PNG_SIGNATURE) and data.rfind(_PNG_END) == -1:
        return f"PNG without its IEND chunk; the file ends at byte {len(data)}"
    return None


class _Stderr:
    """Collects what C code writes to file descriptor 2 during a `with` block (`.text`)."""

    def __init__(self):
        self._file, self._pid = None, None

    def __enter__(self):
        if self._pid != os.getpid():   # a fresh file per process (fork shares the parent's)
            self._file, self._pid = tempfile.TemporaryFile(buffering=0), os.getpid()
            self._fd = self._file.fileno()
        self._saved = os.dup(2)
        os.dup2(self._fd, 2)
        return self

    def __exit__(self, *exc):
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self.text = ""
        if os.fstat(self._fd).st_size:
            os.lseek(self._fd, 0, os.SEEK_SET)
            self.text = os.read(self._fd, 1 << 16).decode(errors="replace").strip()
            os.lseek(self._fd, 0, os.SEEK_SET)
            os.ftruncate(self._fd, 0)
        return False


_stderr = _Stderr()


def _decode(data: bytes):
    """(decoded image or None, the decoder's messages)."""
    with _stderr:
        try:
            image = cv2.imdecode(np.frombuffer(data, np.uint8), DECODE_FLAGS)
        except cv2.error:
            image = None
    return image, _stderr.text


def _check_content(data: bytes, path) -> FileCheck:
    """Check the content `data` of the image file `path` (read again for its header size)."""
    if not data:
        return FileCheck(EMPTY, "the file is empty")
    cut = _truncation(data)
    if cut:
        return FileCheck(TRUNCATED, cut)
    image, messages = _decode(data)
    if any(text in messages for text in FATAL_MESSAGES):
        return FileCheck(CORRUPT, messages)
    if messages:
        os.write(2, f"{path}: {messages}\n".encode())
    if image is None:
        return FileCheck(NOT_IMAGE, f"no decoder reads it (starts with {data[:8].hex(' ')})")
    try:
        width, height = image_size(path)
    except (ValueError, OSError) as err:
        return FileCheck(NOT_IMAGE, f"header unreadable: {err}")
    return FileCheck(None, None, width, height)


def check_file(path) -> FileCheck:
    """Read and check one image file; never raises for a bad or missing file."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return FileCheck(MISSING, "no such file")
    except OSError as err:
        return FileCheck(UNREADABLE, f"{type(err).__name__}: {err.strerror or err}")
    return _check_content(data, path)


def size_problem(check: FileCheck, width, height):
    """The size-mismatch detail when a good file's header size is not the annotation's."""
    if check.reason is None and (check.width, check.height) != (width, height):
        return f"the file is {check.width}x{check.height}, the annotation says {width}x{height}"
    return None


__all__ = ["FileCheck", "check_file", "size_problem", "DECODER", "MISSING", "UNREADABLE",
           "EMPTY", "NOT_IMAGE", "TRUNCATED", "CORRUPT", "SIZE_DIFFERS"]

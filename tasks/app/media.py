"""Inputs (an image, a folder of images, a video, a camera) as ``Frame``s, and the drawn video's writer.

A damaged input is never drawn as if it were whole: an image cv2 cannot decode, or a JPEG or
PNG cut short (``cv2.imread`` decodes what is there and greys the rest, with only a libjpeg
warning; it is named as cut short whatever the decoder does), and
the frames of a video that cannot be decoded are reported in ``failed`` (name, reason) and
skipped; the rest of a folder or video still runs.
"""
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})
# Written video: the input's container when cv2 writes it here, else .mp4.
FOURCC = {".avi": "MJPG", ".mp4": "mp4v"}
log = logging.getLogger(__name__)


@dataclass
class Frame:
    """One image to run on: ``index`` (0-based position in the input), ``name`` (the image's file
    name, or ``"<video>#<index>"``), ``image`` [H, W, 3] uint8 BGR, ``is_video_frame``."""
    index: int
    name: str
    image: np.ndarray
    is_video_frame: bool = False


class MediaError(ValueError):
    """An input is missing, unreadable or of an unknown kind; the message names the file."""


# consecutive undecodable frames after which the rest of a video counts as lost (a cut file)
MAX_BAD_FRAMES = 3
JPEG_START, PNG_START = b"\xff\xd8", b"\x89PNG\r\n\x1a\n"


def truncation(data: bytes, suffix: str):
    """Why the encoded image ``data`` is cut short, or None (also for what is no JPEG or PNG at all:
    the decoder names that). A JPEG must close with its end-of-image marker after the last scan
    (inside scan data 0xFF is always stuffed, so the marker cannot occur there by chance); a PNG
    must hold its IEND chunk."""
    suffix = suffix.lower()
    if (suffix in (".jpg", ".jpeg") and data.startswith(JPEG_START)
            and data.find(b"\xff\xd9", max(data.rfind(b"\xff\xda"), 0)) < 0):
        return "truncated JPEG: no end-of-image marker after the scan data"
    if suffix == ".png" and data.startswith(PNG_START) and data.rfind(b"IEND") < 0:
        return "truncated PNG: no IEND chunk"
    return None


def read_image(path):
    """[H, W, 3] uint8 BGR; MediaError naming the file when it is missing, not an image or cut short."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"image {path} does not exist")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MediaError(f"cannot read image {path}: {exc.strerror or exc}") from exc
    reason = truncation(data, path.suffix)
    if reason:
        raise MediaError(f"cannot use image {path}: {reason}")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise MediaError(f"cannot read image {path}: not an image, or a format cv2 does not decode")
    return image


class ImageInput:
    """One image or the images of a folder (sorted by name, not recursive).

    ``skipped``: the folder's files that are not images by their suffix (reported, not read).
    ``failed``: (file name, reason) of the folder's image files that cannot be decoded or are cut
    short; the rest of the folder still runs. A single image that cannot be read is a MediaError.
    """

    is_video = False

    def __init__(self, path):
        self.path = Path(path)
        if self.path.is_dir():
            files = sorted(p for p in self.path.iterdir() if p.is_file())
            self.files = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
            self.skipped = [p for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
            if not self.files:
                raise MediaError(f"folder {self.path} holds no image ({', '.join(sorted(IMAGE_SUFFIXES))})")
        else:
            self.files, self.skipped = [self.path], []
        self.failed = []
        self.total = len(self.files)

    @property
    def not_read(self):
        """How many images were not read (each is one ``failed`` entry)."""
        return len(self.failed)

    def __iter__(self):
        for index, path in enumerate(self.files):
            try:
                image = read_image(path)
            except MediaError as exc:
                if not self.path.is_dir():
                    raise
                log.warning("%s; skipped", exc)
                self.failed.append((path.name, str(exc)))
                continue
            yield Frame(index, path.name, image)


class VideoInput:
    """The frames of a video file; ``fps``, ``size`` (w, h) and ``total`` (frame count, None when
    the container does not say) as cv2 reads them. A frame that cannot be decoded before ``total``
    is in ``failed`` ("<video>#<index>", reason) and skipped; after ``MAX_BAD_FRAMES`` such frames
    in a row, the rest of the count is reported as one entry (the file ends early)."""

    is_video = True

    def __init__(self, path):
        self.path = Path(path)
        self.skipped, self.failed = [], []
        self.not_read = 0   # frames; a run of lost frames is one ``failed`` entry
        if not self.path.is_file():
            raise MediaError(f"video {self.path} does not exist")
        capture = cv2.VideoCapture(str(self.path))
        try:
            ok, frame = capture.read()
            if not capture.isOpened() or not ok:
                raise MediaError(f"cannot read video {self.path}: cv2 cannot open it or it has no frame")
            self.fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
            self.size = (frame.shape[1], frame.shape[0])
            count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            self.total = count if count > 0 else None
        finally:
            capture.release()

    def __iter__(self):
        capture = cv2.VideoCapture(str(self.path))
        index, undecoded = 0, []
        try:
            while True:
                ok, image = capture.read()
                if ok:
                    self._undecoded(undecoded)
                    undecoded = []
                    yield Frame(index, f"{self.path.name}#{index}", image, is_video_frame=True)
                elif self.total is None or index >= self.total:
                    break   # the end
                else:
                    undecoded.append(index)
                    if len(undecoded) == MAX_BAD_FRAMES:   # the file ends early: the rest is lost
                        undecoded = list(range(undecoded[0], self.total))
                        break
                index += 1
        finally:
            capture.release()
        self._undecoded(undecoded)

    def _undecoded(self, indices):
        """Report frames ``indices`` (consecutive) as not decoded, in one entry."""
        if not indices:
            return
        name = f"{self.path.name}#{indices[0]}" + (f"-{indices[-1]}" if len(indices) > 1 else "")
        self.not_read += len(indices)
        what = f"{len(indices)} frames" if len(indices) > 1 else "the frame"
        self.failed.append((name, f"{what} of the {self.total} the container announces could not be decoded "
                                  "(a damaged or cut file?)"))
        log.warning("%s: %s; skipped", name, self.failed[-1][1])


class CameraInput:
    """Frames of camera ``index`` (cv2.VideoCapture) until it stops giving frames or the
    run is interrupted (Ctrl-C); drawn as ``camera<index>.mp4``."""

    is_video = True

    def __init__(self, index):
        self.index = int(index)
        self.path = Path(f"camera{self.index}.mp4")
        self.skipped, self.failed, self.total, self.not_read = [], [], None, 0
        self._capture = cv2.VideoCapture(self.index)
        ok, frame = self._capture.read() if self._capture.isOpened() else (False, None)
        if not ok:
            self._capture.release()
            raise MediaError(f"cannot open camera {self.index}: cv2 finds no such device or it gives no frame")
        self.fps = self._capture.get(cv2.CAP_PROP_FPS) or 25.0
        self.size = (frame.shape[1], frame.shape[0])
        self._first = frame

    def __iter__(self):
        try:
            index, image = 0, self._first
            while image is not None:
                yield Frame(index, f"camera{self.index}#{index}", image, is_video_frame=True)
                ok, image = self._capture.read()
                index, image = index + 1, image if ok else None
        finally:
            self._capture.release()


def open_input(path):
    """An ``ImageInput`` (image file or folder) or a ``VideoInput``, chosen by the path's kind and suffix."""
    path = Path(path)
    if not path.exists():
        raise MediaError(f"input {path} does not exist")
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageInput(path)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return VideoInput(path)
    raise MediaError(f"input {path}: unknown suffix {path.suffix!r}; expected a folder, an image "
                     f"({', '.join(sorted(IMAGE_SUFFIXES))}) or a video ({', '.join(sorted(VIDEO_SUFFIXES))})")


def video_output_path(video_path, out_dir):
    """Where the drawn copy of ``video_path`` goes: same name in ``out_dir``, .mp4 when cv2 cannot
    write the input's container."""
    video_path = Path(video_path)
    suffix = video_path.suffix.lower() if video_path.suffix.lower() in FOURCC else ".mp4"
    return Path(out_dir) / f"{video_path.stem}{suffix}"


def open_video_writer(path, fps, size):
    """cv2.VideoWriter for ``path`` (.avi: MJPG, .mp4: mp4v) at ``fps`` and ``size`` (w, h)."""
    path = Path(path)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*FOURCC[path.suffix.lower()]), fps, size)
    if not writer.isOpened():
        raise MediaError(f"cannot write video {path} ({FOURCC[path.suffix.lower()]}, {fps} fps, {size})")
    return writer

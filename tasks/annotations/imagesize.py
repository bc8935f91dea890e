"""Image width/height from the file header, without decoding the pixels.

JPEG: walk the marker segments up to the first SOFn frame header.
PNG: the IHDR chunk. Anything else: Pillow's lazy open (reads the header only).
"""
import struct
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG), CC (DAC) do not.
JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field.
JPEG_STANDALONE = frozenset(range(0xD0, 0xD9)) | {0x01}


def _jpeg_size(f):
    f.seek(2)
    while True:
        byte = f.read(1)
        if not byte:
            raise ValueError("JPEG ends before its frame header")
        if byte != b"\xff":
            raise ValueError("JPEG marker expected")
        marker = f.read(1)
        while marker == b"\xff":  # fill bytes
            marker = f.read(1)
        if not marker:
            raise ValueError("JPEG ends before its frame header")
        code = marker[0]
        if code in JPEG_STANDALONE:
            continue
        length_bytes = f.read(2)
        if len(length_bytes) != 2:
            raise ValueError("JPEG segment truncated")
        (length,) = struct.unpack(">H", length_bytes)
        if code in JPEG_SOF:
            header = f.read(5)
            if len(header) != 5:
                raise ValueError("JPEG frame header truncated")
            _, height, width = struct.unpack(">BHH", header)
            return width, height
        if length < 2:
            raise ValueError("JPEG segment length invalid")
        f.seek(length - 2, 1)


def image_size(path):
    """(width, height) of an image file. Raises ValueError when the header is unreadable."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(24)
        if head.startswith(PNG_SIGNATURE) and head[12:16] == b"IHDR":
            width, height = struct.unpack(">II", head[16:24])
        elif head.startswith(b"\xff\xd8"):
            width, height = _jpeg_size(f)
        else:
            from PIL import Image, UnidentifiedImageError
            try:
                with Image.open(path) as img:
                    width, height = img.size
            except (UnidentifiedImageError, OSError) as err:
                raise ValueError(f"not an image ({err})") from None
    if width <= 0 or height <= 0:
        raise ValueError(f"header gives size {width}x{height}")
    return width, height

"""One image file's check (tasks.imagecheck.decode): each kind of bad file gets its reason,
and the 1/8-scale decode it relies on still reads every entropy-coded block."""
import struct

import cv2
import numpy as np
import pytest

from tasks.imagecheck.decode import (CORRUPT, EMPTY, MISSING, NOT_IMAGE, TRUNCATED, FileCheck, check_file,
                                     size_problem)

WIDTH, HEIGHT = 320, 240


def textured(width=WIDTH, height=HEIGHT, seed=0):
    rng = np.random.default_rng(seed)
    noise = rng.normal(128, 40, (height // 4, width // 4, 3)).clip(0, 255).astype(np.uint8)
    return cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)


def jpeg(image=None) -> bytes:
    return cv2.imencode(".jpg", textured() if image is None else image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_good_jpeg_and_png_pass_with_their_header_size(tmp_path):
    assert check_file(write(tmp_path, "a.jpg", jpeg())) == FileCheck(None, None, WIDTH, HEIGHT)
    png = cv2.imencode(".png", textured())[1].tobytes()
    assert check_file(write(tmp_path, "a.png", png)) == FileCheck(None, None, WIDTH, HEIGHT)


def test_a_jpeg_cut_at_3_kb_is_truncated(tmp_path):
    data = jpeg()
    check = check_file(write(tmp_path, "cut.jpg", data[:3000]))
    assert check.reason == TRUNCATED and "FF D9" in check.detail and "byte 3000" in check.detail


def test_a_cut_jpeg_is_truncated_even_when_its_exif_thumbnail_ends_with_ff_d9(tmp_path):
    thumbnail = jpeg(textured(32, 24, seed=1))
    app1 = b"Exif\0\0" + thumbnail
    data = jpeg()
    with_thumbnail = data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]
    assert check_file(write(tmp_path, "whole.jpg", with_thumbnail)).reason is None
    cut = with_thumbnail[:len(app1) + 3000]
    assert cut.rfind(b"\xff\xd9") > 0   # the thumbnail's marker is still there
    assert check_file(write(tmp_path, "cut.jpg", cut)).reason == TRUNCATED


def test_a_truncated_png_is_truncated(tmp_path):
    png = cv2.imencode(".png", textured())[1].tobytes()
    assert check_file(write(tmp_path, "cut.png", png[:len(png) // 2])).reason == TRUNCATED


def test_zero_bytes_missing_and_not_an_image(tmp_path):
    assert check_file(write(tmp_path, "empty.jpg", b"")).reason == EMPTY
    assert check_file(tmp_path / "absent.jpg").reason == MISSING
    check = check_file(write(tmp_path, "text.jpg", b"<html>not found</html>" * 20))
    assert check.reason == NOT_IMAGE and "3c 68 74 6d" in check.detail


@pytest.mark.parametrize("where", ["cut before the marker", "a gap in the middle"])
def test_corrupt_scan_data_with_its_end_marker_is_rejected_with_the_decoders_message(tmp_path, capfd, where):
    data = jpeg()
    middle = len(data) // 2
    bad = data[:-400] + b"\xff\xd9" if where.startswith("cut") else data[:middle] + data[middle + 2000:]
    check = check_file(write(tmp_path, "bad.jpg", bad))
    assert check.reason == CORRUPT and "Corrupt JPEG data" in check.detail
    assert capfd.readouterr().err == ""   # captured, not printed


@pytest.mark.parametrize("flag", ["IMREAD_COLOR", "IMREAD_REDUCED_COLOR_2", "IMREAD_REDUCED_COLOR_4",
                                  "IMREAD_REDUCED_COLOR_8"])
def test_reduced_decodes_still_read_every_entropy_coded_block(capfd, flag):
    """The claim the check rests on: at 1/2, 1/4 and 1/8 scale libjpeg still decodes the scan
    data to its end. Data cut 400 bytes before the end (the marker put back) makes each scale
    warn, and damage in the last block row changes the last row of the 1/8-scale image."""
    data = jpeg()
    assert cv2.imdecode(np.frombuffer(data, np.uint8), getattr(cv2, flag)) is not None
    assert capfd.readouterr().err == ""
    cut = data[:-400] + b"\xff\xd9"
    assert cv2.imdecode(np.frombuffer(cut, np.uint8), getattr(cv2, flag)) is not None
    assert "Corrupt JPEG data: premature end of data segment" in capfd.readouterr().err


def test_damage_in_the_last_block_row_shows_in_the_eighth_scale_image():
    data = jpeg()
    whole = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_COLOR_8)
    spoiled = data[:-60] + bytes(b ^ 0x55 if b not in (0x00, 0xFF) else b for b in data[-60:-2]) + data[-2:]
    reduced = cv2.imdecode(np.frombuffer(spoiled, np.uint8), cv2.IMREAD_REDUCED_COLOR_8)
    assert reduced.shape == whole.shape == (HEIGHT // 8, WIDTH // 8, 3)
    changed_rows = np.flatnonzero(np.abs(reduced.astype(int) - whole).max(axis=(1, 2)) > 0)
    assert changed_rows.size and changed_rows.min() >= HEIGHT // 8 - 2   # only the last block rows


def test_size_problem_compares_the_header_size_with_the_annotation():
    good = FileCheck(None, None, 640, 480)
    assert size_problem(good, 640, 480) is None
    assert size_problem(good, 640, 427) == "the file is 640x480, the annotation says 640x427"
    assert size_problem(FileCheck(TRUNCATED, "cut"), 640, 480) is None   # its own reason says it

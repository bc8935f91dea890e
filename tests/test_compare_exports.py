"""tools/compare_exports.py: what it sets aside in a Paddle-Lite ``.nb`` and what it still catches
(real paddle_lite_opt files of the synthetic TinyPose)."""
import subprocess
import sys
from pathlib import Path

import pytest

from deploy_helpers import lite_python_or_skip
from tasks.export.lite import convert_lite

TOOL = Path(__file__).resolve().parents[1] / "tools" / "compare_exports.py"


@pytest.fixture(scope="module")
def nb_files(tinypose_export, tmp_path_factory):
    """{"fp32": path, "fp16": path}: the synthetic TinyPose converted for ARM."""
    lite_python = lite_python_or_skip()
    out = tmp_path_factory.mktemp("nb")
    return {precision: convert_lite(tinypose_export, out / precision, precision=precision, lite_python=lite_python)
            for precision in ("fp32", "fp16")}


def compare(before_root, after_root):
    """(exit status, {count name: count}, lines before the counts) of the tool."""
    proc = subprocess.run([sys.executable, str(TOOL), str(before_root), str(after_root)],
                          capture_output=True, text=True, timeout=300)
    lines = proc.stdout.strip().splitlines()
    counts = {key: int(value) for key, value in (pair.split("=") for pair in lines[-1].split())}
    return proc.returncode, counts, lines[:-1]


def data_root(path, files):
    """A data root whose lite/ holds ``files`` {name: bytes}."""
    (path / "lite").mkdir(parents=True)
    for name, data in files.items():
        (path / "lite" / name).write_bytes(data)
    return path


def test_nb_header_noise_is_set_aside_and_a_weight_byte_is_not(nb_files, tmp_path):
    data = nb_files["fp32"].read_bytes()
    noisy = data[:11] + bytes(255 - b for b in data[11:15]) + data[15:]
    damaged = bytearray(data)
    damaged[-100] ^= 0xFF                                   # a weight, near the end of the file
    before = data_root(tmp_path / "before", {"a.nb": data, "b.nb": data, "gone.nb": data})
    after = data_root(tmp_path / "after", {"a.nb": noisy, "b.nb": bytes(damaged), "new.nb": data})

    status, counts, lines = compare(before, after)

    assert counts == {"same": 1, "same_ops": 0, "differ": 1, "only_before": 1, "only_after": 1}
    assert lines == ["differ: lite/b.nb", "only_before: lite/gone.nb", "only_after: lite/new.nb"]
    assert status == 1


def test_nb_program_is_compared_by_its_ops(nb_files, tinypose_export, tmp_path):
    """Another run of paddle_lite_opt on the same files is the same model (byte-identical or the
    same ops in another order); another program over the same weights is not."""
    sys.path.insert(0, str(TOOL.parent))
    try:
        from compare_exports import nb_sections, same_program_ops
    finally:
        sys.path.remove(str(TOOL.parent))
    fp32 = nb_files["fp32"].read_bytes()
    header, program, weights = nb_sections(fp32)
    assert len(header) + len(program) + len(weights) == len(fp32) - 4 - 8   # less noise and program size
    assert same_program_ops(nb_files["fp32"], nb_files["fp32"])
    assert not same_program_ops(nb_files["fp32"], nb_files["fp16"])   # FP16 adds calib ops

    rerun = convert_lite(tinypose_export, tmp_path / "rerun", lite_python=lite_python_or_skip())
    before = data_root(tmp_path / "before", {"model.nb": fp32})
    after = data_root(tmp_path / "after", {"model.nb": rerun.read_bytes()})

    status, counts, _ = compare(before, after)

    assert counts["same"] + counts["same_ops"] == 1 and status == 0

"""Paddle-Lite: real paddle_lite_opt, a real x86 run compared with paddle.inference, .nb integrity.

Needs the Lite environment (``make setup`` / ``bash tools/make_lite_env.sh``); the
tests that run Paddle-Lite skip, saying so, when it is absent (fail under CI). The
missing-env error itself is always tested.
"""
import pytest
import yaml

from deploy_helpers import fixed_inputs, lite_python_or_skip, seeded_tinypose
from tasks.common.fingerprint import file_record
from tasks.export.bundle_readme import render_deploy_readme
from tasks.export.lite import build_lite_model, check_lite, convert_lite, estimate_fp16_cost, verify_nb
from tasks.keypoint.codecs import DarkHeatmap
from tasks.runtime.lite_env import LiteEnvMissing, LiteError, find_lite_python


@pytest.fixture(scope="module")
def lite_python():
    return lite_python_or_skip()


@pytest.fixture(scope="module")
def model():
    return seeded_tinypose()


@pytest.fixture(scope="module")
def model_dir(tinypose_export, lite_python):
    return tinypose_export  # seeded_tinypose() exported


@pytest.fixture(scope="module")
def nb_arm_fp16(model_dir, tmp_path_factory, lite_python):
    return convert_lite(model_dir, tmp_path_factory.mktemp("lite") / "tinypose_fp16", precision="fp16",
                        lite_python=lite_python)


def test_missing_lite_env_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYPOSE_LITE_PYTHON", str(tmp_path / "no-such-env" / "bin" / "python"))
    with pytest.raises(LiteEnvMissing) as err:
        find_lite_python()
    message = str(err.value)
    assert "no-such-env" in message and "make setup" in message and "tools/make_lite_env.sh" in message
    with pytest.raises(LiteEnvMissing):
        convert_lite(tmp_path, tmp_path / "out")


def test_configured_lite_python_wins_over_the_environment(monkeypatch, tmp_path):
    configured, from_env = tmp_path / "configured" / "python", tmp_path / "env" / "python"
    for path in (configured, from_env):
        path.parent.mkdir()
        path.touch()
    monkeypatch.setenv("TINYPOSE_LITE_PYTHON", str(from_env))
    assert find_lite_python(configured) == configured
    assert find_lite_python() == from_env


def test_lite_env_has_python310_and_numpy1(lite_python):
    import subprocess

    out = subprocess.run([str(lite_python), "-c", "import sys, numpy, paddlelite.lite; "
                          "print(sys.version_info[:2], numpy.__version__)"],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    assert out.startswith("(3, 10)") and out.split()[-1].startswith("1.")


@pytest.mark.slow
def test_fp32_conversion_reproduces_paddle_inference(model_dir, tmp_path, lite_python):
    x = fixed_inputs()
    manifest = build_lite_model(model_dir, tmp_path / "tinypose_fp32", "fp32", [x], lite_python=lite_python)
    check = manifest["x86_fp32_check"]
    assert check["ok"] and check["max_abs_diff"] <= 1e-4 and check["output_shapes"] == [[2, 17, 32, 24]]
    nb = tmp_path / "tinypose_fp32.nb"
    assert manifest["size"] == nb.stat().st_size and manifest["sha256"] == file_record(nb)["sha256"]
    assert manifest["ops"]["conv2d"] > 0 and manifest["input_names"] == ["image"]
    readme = render_deploy_readme([dict(manifest, name="tinypose_128x96",
                                        infer_cfg=yaml.safe_load((model_dir / "infer_cfg.yml").read_text()))])
    assert "tinypose_fp32.nb" in readme and "96x128" in readme and "heatmaps [N, 17, 32, 24]" in readme
    # a check that cannot pass reports its figures
    x86 = convert_lite(model_dir, tmp_path / "x86", target="x86", lite_python=lite_python)
    with pytest.raises(LiteError, match=r"max abs diff [0-9.e+-]+ > 1e-12"):
        check_lite(model_dir, x86, [x], tol=1e-12, lite_python=lite_python)


# TinyPose 128x96's heatmaps decoded as its config does
DECODE_ONLY = DarkHeatmap.for_decoding((96, 128), (24, 32))


@pytest.mark.slow
def test_fp16_conversion_checked_by_what_can_be_checked(model, model_dir, tmp_path, lite_python):
    x = fixed_inputs()
    manifest = build_lite_model(model_dir, tmp_path / "tinypose_fp16", "fp16", [x], lite_python=lite_python,
                                fp16_check=lambda arrays: estimate_fp16_cost(model, arrays[0], codec=DECODE_ONLY))
    assert manifest["precision"] == "fp16" and manifest["x86_fp32_check"]["ok"]
    assert manifest["ops"].get("calib", 0) > 0  # precision casts around the FP16 kernels
    cost = manifest["fp16_weight_rounding"]
    assert cost["ok"] and cost["max_px"] <= 0.5
    with pytest.raises(ValueError, match="FP16"):
        convert_lite(model_dir, tmp_path / "x", precision="fp16", target="x86", lite_python=lite_python)


def test_truncated_nb_is_detected(nb_arm_fp16, tmp_path, lite_python):
    record = file_record(nb_arm_fp16)
    assert verify_nb(nb_arm_fp16, record, lite_python=lite_python)["loads"]
    truncated = tmp_path / "truncated.nb"
    truncated.write_bytes(nb_arm_fp16.read_bytes()[: record["size"] // 2])
    with pytest.raises(LiteError, match="corrupted or truncated"):
        verify_nb(truncated, record, lite_python=lite_python)
    # without a record, the load attempt alone catches it
    with pytest.raises(LiteError, match="does not load"):
        verify_nb(truncated, lite_python=lite_python)


def test_corrupted_nb_is_detected(nb_arm_fp16, tmp_path, lite_python):
    record = file_record(nb_arm_fp16)
    data = bytearray(nb_arm_fp16.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside the weights still loads: the record catches it
    corrupted = tmp_path / "corrupted.nb"
    corrupted.write_bytes(bytes(data))
    with pytest.raises(LiteError, match="corrupted or truncated"):
        verify_nb(corrupted, record, lite_python=lite_python)
    (tmp_path / "empty.nb").write_bytes(b"")
    with pytest.raises(LiteError, match="missing or empty"):
        verify_nb(tmp_path / "empty.nb", lite_python=lite_python)

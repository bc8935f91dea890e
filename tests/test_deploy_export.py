"""Export: both programs (PIR model.json, legacy model.pdmodel) on one model.pdiparams, each
reproducing the dygraph model, in PaddleDetection's layout; built from a config or a Layer."""
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from deploy_helpers import ARCHITECTURE, INPUT_SIZE, dygraph, fixed_inputs, save_weights, seeded_tinypose
from tasks.export.inference_model import ExportError, export_inference_model
from tasks.export.layout.files import program_file
from tasks.export.layout.infer_cfg import DEFAULT_KEYPOINT_DECODE, load_infer_cfg, read_keypoint_export, write_infer_cfg
from tasks.keypoint.config import load_config
from tasks.models import build_infer_cfg
from tasks.runtime.runners import PaddleInferenceRunner
from tasks.transforms import IMAGENET_MEAN, IMAGENET_STD

CONFIG = "configs/tinypose_128x96.yml"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model():
    return seeded_tinypose()


@pytest.fixture(scope="module")
def config():
    return load_config(CONFIG)


@pytest.fixture(scope="module")
def weights(model, tmp_path_factory):
    return save_weights(model, tmp_path_factory.mktemp("w") / "tinypose.pdparams")


@pytest.fixture(scope="module")
def exported(config, weights, tmp_path_factory):
    """From a config and a weights file, as the ExportInferenceModel node does."""
    out = tmp_path_factory.mktemp("export") / "plain"
    return out, export_inference_model(config, out, config["model"]["input_size"], weights=weights)


def _float64_arrays(pir_json):
    """(op, attribute) of every array attribute holding float64 values in a PIR model.json."""
    found = []

    def walk(node, op):
        if isinstance(node, dict):
            op = node["#"] if str(node.get("#", "")).startswith("1.") else op
            for attr in node.get("A", []) if isinstance(node.get("A"), list) else []:
                value = attr.get("AT", {}) if isinstance(attr, dict) else {}
                if value.get("#") == "0.a_array" and any(e.get("#") == "0.a_f64" for e in value["D"]):
                    found.append((op, attr["N"]))
            for child in node.values():
                walk(child, op)
        elif isinstance(node, list):
            for child in node:
                walk(child, op)

    walk(json.loads(pir_json.read_text()), None)
    return found


@pytest.mark.slow
def test_export_writes_both_programs_that_reproduce_dygraph(model, exported):
    out, info = exported
    assert info["architecture"] == ARCHITECTURE and info["input_shape"] == [1, 3, 128, 96]
    for name in ("model.json", "model.pdmodel", "model.pdiparams", "infer_cfg.yml"):
        assert (out / name).is_file() and info["files"][name]["size"] > 0
    assert {k: v["program"] for k, v in info["reload_check"].items()} == {"pir": "model.json",
                                                                         "legacy": "model.pdmodel"}
    assert all(check["max_abs_diff"] <= 1e-4 for check in info["reload_check"].values())
    # no interpolation op and no float64 array: oneDNN runs the PIR program (Paddle 3.3.1)
    assert "_interp" not in (out / "model.json").read_text()
    assert _float64_arrays(out / "model.json") == []
    # the legacy program holds no call stack: no path or line of this checkout (same bytes anywhere)
    legacy = (out / "model.pdmodel").read_bytes()
    assert b"op_callstack" not in legacy and str(ROOT).encode() not in legacy

    x = fixed_inputs()
    expected = dygraph(model, x)
    for program in ("pir", "legacy"):
        runner = PaddleInferenceRunner(out, threads=2, program=program)
        assert runner.input_names == ["image"]
        heatmaps = runner(x)[0]
        assert heatmaps.shape == (2, 17, 32, 24)
        np.testing.assert_allclose(heatmaps, expected, atol=1e-4, rtol=0)


@pytest.mark.slow
def test_fuse_normalize_agrees_with_separate_normalization(model, exported, tmp_path):
    # A model instance (pickled into the export processes) with its current weights.
    plain_dir, _ = exported
    export_inference_model(model, tmp_path / "fused", INPUT_SIZE, architecture=ARCHITECTURE, fuse_normalize=True)
    cfg = yaml.safe_load((tmp_path / "fused" / "infer_cfg.yml").read_text())
    assert [step["type"] for step in cfg["Preprocess"]] == ["TopDownEvalAffine", "Permute"]

    w, h = INPUT_SIZE
    rgb = np.random.default_rng(1).uniform(0, 255, (2, 3, h, w)).astype(np.float32)
    mean = np.array(IMAGENET_MEAN, np.float32).reshape(1, 3, 1, 1)
    std = np.array(IMAGENET_STD, np.float32).reshape(1, 3, 1, 1)
    plain = PaddleInferenceRunner(plain_dir)((rgb / 255.0 - mean) / std)[0]
    for program in ("pir", "legacy"):
        fused = PaddleInferenceRunner(tmp_path / "fused", program=program)(rgb)[0]
        np.testing.assert_allclose(fused, plain, atol=1e-4, rtol=0)


def test_export_rejects_weights_that_do_not_fit(model, config, tmp_path):
    import paddle

    state = dict(model.state_dict())
    state.pop("final_conv.bias")
    paddle.save(state, str(tmp_path / "partial.pdparams"))
    with pytest.raises(ExportError, match="final_conv.bias"):
        export_inference_model(config, tmp_path / "out", INPUT_SIZE, weights=tmp_path / "partial.pdparams")


def test_a_layer_needs_its_architecture_named(model, tmp_path):
    with pytest.raises(ValueError, match="architecture"):
        export_inference_model(model, tmp_path / "out", INPUT_SIZE)


def test_keypoint_infer_cfg_is_paddledetections_layout():
    cfg = build_infer_cfg(ARCHITECTURE, INPUT_SIZE, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    assert cfg["arch"] == "HRNet" and cfg["metric"] == "KeyPointTopDownCOCOEval"
    assert cfg["mode"] == "paddle" and cfg["use_dynamic_shape"] is False and cfg["min_subgraph_size"] == 3
    assert [step["type"] for step in cfg["Preprocess"]] == ["TopDownEvalAffine", "NormalizeImage", "Permute"]
    assert cfg["Preprocess"][0]["trainsize"] == [96, 128]  # [w, h]
    assert cfg["Preprocess"][1]["is_scale"] is True and cfg["label_list"] == ["keypoint"]
    with pytest.raises(ValueError, match="architecture 'NoSuchNet' is not one of"):
        build_infer_cfg("NoSuchNet", INPUT_SIZE)


def test_keypoint_infer_cfg_records_its_decoding(tmp_path):
    udp = {"codec": "UDPHeatmap", "udp_backproject": True, "pixel_std": 200}
    write_infer_cfg(tmp_path, build_infer_cfg(ARCHITECTURE, INPUT_SIZE, decode=udp))
    export = read_keypoint_export(tmp_path)
    assert export["decode"] == {**udp, "pixel_std": 200.0} and export["input_size"] == INPUT_SIZE
    assert load_infer_cfg(tmp_path)["export"]["architecture"] == ARCHITECTURE
    # PaddleDetection's released folders have no `export:` section: PP-TinyPose's decoding
    cfg = load_infer_cfg(tmp_path)
    del cfg["export"]
    write_infer_cfg(tmp_path, cfg)
    assert read_keypoint_export(tmp_path)["decode"] == DEFAULT_KEYPOINT_DECODE == {
        "codec": "DarkHeatmap", "udp_backproject": False, "pixel_std": 200}


def test_program_file_accepts_either_program(tmp_path):
    (tmp_path / "model.pdiparams").write_bytes(b"w")
    with pytest.raises(FileNotFoundError, match="no model.pdmodel or model.json"):
        program_file(tmp_path)
    (tmp_path / "model.json").write_text("{}")
    assert program_file(tmp_path) == tmp_path / "model.json"
    (tmp_path / "model.pdmodel").write_bytes(b"p")
    assert program_file(tmp_path) == tmp_path / "model.pdmodel"  # legacy first: oneDNN runs any legacy program
    assert program_file(tmp_path, "pir") == tmp_path / "model.json"
    (tmp_path / "model.pdiparams").unlink()
    with pytest.raises(FileNotFoundError, match="no model.pdiparams"):
        program_file(tmp_path)

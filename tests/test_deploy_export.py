"""Export: the legacy Paddle inference model reproduces the dygraph model, in PaddleDetection's layout."""
import numpy as np
import pytest
import yaml

from deploy_helpers import FACTORY, INPUT_SIZE, dygraph, fixed_inputs, save_weights, seeded_tinypose
from tasks.deploy.export import ExportError, export_inference_model
from tasks.deploy.runtimes import PaddleInferenceRunner
from tasks.keypoint.transforms import IMAGENET_MEAN, IMAGENET_STD


@pytest.fixture(scope="module")
def model():
    return seeded_tinypose()


@pytest.fixture(scope="module")
def weights(model, tmp_path_factory):
    return save_weights(model, tmp_path_factory.mktemp("w") / "tinypose.pdparams")


@pytest.fixture(scope="module")
def exported(weights, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "plain"
    return out, export_inference_model(FACTORY, weights, out, INPUT_SIZE)


@pytest.mark.slow
def test_export_reload_matches_dygraph(model, exported):
    tmp_path, info = exported
    assert info["reload_check"]["max_abs_diff"] <= 1e-4  # the export proves itself too
    for name in ("model.pdmodel", "model.pdiparams", "infer_cfg.yml"):
        assert (tmp_path / name).is_file() and info["files"][name]["size"] > 0
    assert not (tmp_path / "model.json").exists()  # legacy format, not PIR

    cfg = yaml.safe_load((tmp_path / "infer_cfg.yml").read_text())
    assert cfg["arch"] == "HRNet" and cfg["metric"] == "KeyPointTopDownCOCOEval"
    assert cfg["mode"] == "paddle" and cfg["use_dynamic_shape"] is False and cfg["min_subgraph_size"] == 3
    assert [step["type"] for step in cfg["Preprocess"]] == ["TopDownEvalAffine", "NormalizeImage", "Permute"]
    assert cfg["Preprocess"][0]["trainsize"] == [96, 128]
    assert cfg["Preprocess"][1]["is_scale"] is True and cfg["label_list"] == ["keypoint"]

    x = fixed_inputs()
    runner = PaddleInferenceRunner(tmp_path, threads=2)
    assert runner.input_names == ["image"]
    heatmaps = runner(x)[0]
    assert heatmaps.shape == (2, 17, 32, 24)
    np.testing.assert_allclose(heatmaps, dygraph(model, x), atol=1e-4, rtol=0)


@pytest.mark.slow
def test_fuse_normalize_agrees_with_separate_normalization(model, exported, tmp_path):
    # A model instance (pickled into the export process) with its current weights.
    plain_dir, _ = exported
    export_inference_model(model, None, tmp_path / "fused", INPUT_SIZE, fuse_normalize=True)
    cfg = yaml.safe_load((tmp_path / "fused" / "infer_cfg.yml").read_text())
    assert [step["type"] for step in cfg["Preprocess"]] == ["TopDownEvalAffine", "Permute"]

    rgb = np.random.default_rng(1).uniform(0, 255, (2, 3, *INPUT_SIZE)).astype(np.float32)
    mean = np.array(IMAGENET_MEAN, np.float32).reshape(1, 3, 1, 1)
    std = np.array(IMAGENET_STD, np.float32).reshape(1, 3, 1, 1)
    plain = PaddleInferenceRunner(plain_dir)((rgb / 255.0 - mean) / std)[0]
    fused = PaddleInferenceRunner(tmp_path / "fused")(rgb)[0]
    np.testing.assert_allclose(fused, plain, atol=1e-4, rtol=0)


def test_export_rejects_weights_that_do_not_fit(model, tmp_path):
    import paddle

    state = dict(model.state_dict())
    state.pop("final_conv.bias")
    paddle.save(state, str(tmp_path / "partial.pdparams"))
    with pytest.raises(ExportError, match="final_conv.bias"):
        export_inference_model(FACTORY, tmp_path / "partial.pdparams", tmp_path / "out", INPUT_SIZE)

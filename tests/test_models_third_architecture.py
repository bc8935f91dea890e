"""The registry's proof: an architecture registered from the tests folder only
(tests/toy_architecture.py) trains, evaluates, exports, runs in every runtime and through
``tinypose-infer``, with no product file naming it."""
import json
import subprocess
from pathlib import Path

import numpy as np
import paddle
import pytest
import yaml

from deploy_helpers import lite_python_or_skip
from keypoint_tiny_data import make_tiny_coco
from pipeline.tasks import ExportOnnx
from pipeline_helpers import build, pipeline_root
from tasks.app.cli import main as infer_main
from tasks.common.config import ConfigError
from tasks.common.weights import load_state
from tasks.export.artifacts import export_checked_onnx, export_model
from tasks.export.layout.files import LITE_X86_FILE
from tasks.export.layout.infer_cfg import load_infer_cfg
from tasks.export.lite import convert_lite
from tasks.keypoint.builders import build_dataset
from tasks.keypoint.config import load_config
from tasks.models import load_model_config, spec_of
from tasks.runtime.keypoint_predictor import KeypointPredictor
from toy_architecture import NAME, ToyHeatmapNet

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow   # trains a model
PRODUCT = ("tasks", "pipeline", "configs", "schemas", "tools", "Makefile", "setup.cfg")


def toy_config_file(folder):
    """The sample TinyPose config with the toy architecture, one short epoch."""
    config = yaml.safe_load((ROOT / "configs" / "tinypose_128x96.yml").read_text())
    config.update(name="toy_heatmap_net", architecture=NAME, custom_imports=["toy_architecture"])
    config["model"]["width"] = 8
    config["data"]["num_workers"] = 0
    config["train"].update(epochs=1, batch_size=4, snapshot_epoch=1, keep_checkpoints=1)
    config["optimizer"].update(warmup_steps=1, milestones=[1])
    path = Path(folder) / "toy.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    ann, images = make_tiny_coco(root / "data", num_images=2)
    config_path = toy_config_file(root)
    config = load_model_config(config_path)
    kind = spec_of(config).kind
    summary = kind.train_function()(config, ann, images, root / "train", progress=False)
    weights = root / "train" / "model_final.pdparams"
    metrics = kind.evaluate_function()(config, weights, ann, images, root / "eval", num_vis=0, progress=False)
    export = export_model(config, weights, root / "export", check_images={"val_ann": ann, "image_root": images})
    onnx = export_checked_onnx(config, root / "export", root / "export" / "model.onnx",
                               check_images={"val_ann": ann, "image_root": images})
    return {"root": root, "config_path": config_path, "config": config, "ann": ann, "images": images, "weights": weights, "summary": summary,
            "metrics": metrics, "export": export, "onnx": onnx}


def test_a_config_names_a_registered_architecture_of_its_kind(tmp_path):
    config = yaml.safe_load(toy_config_file(tmp_path).read_text())
    for change, message in (({"custom_imports": ["no_such_module"]}, "custom_imports: cannot import 'no_such_module'"),
                            ({"custom_imports": [], "architecture": "NoSuchNet"}, "'NoSuchNet' is not one of"),
                            ({"architecture": "PicoDet"}, "'PicoDet' is not a registered keypoint architecture")):
        path = tmp_path / "bad.yml"
        path.write_text(yaml.safe_dump({**config, **change}))
        with pytest.raises(ConfigError, match=message):
            (load_config if change.get("architecture") == "PicoDet" else load_model_config)(path)


def test_no_product_file_names_it():
    found = subprocess.run(["grep", "-rl", NAME, *PRODUCT], cwd=ROOT, capture_output=True, text=True)
    assert found.returncode == 1 and not found.stdout, found.stdout


def test_it_trains_evaluates_and_exports_through_its_kind(toy):
    assert spec_of(toy["config"]).name == NAME and toy["summary"]["steps"] >= 1
    assert {"AP", "AP50", "AR"} <= set(toy["metrics"]) and toy["metrics"]["persons"] > 0
    assert toy["export"]["architecture"] == NAME
    assert all(check["ok"] for check in toy["export"]["reload_check"].values())
    assert toy["onnx"]["check"]["ok"]
    cfg = load_infer_cfg(toy["root"] / "export")
    assert cfg["arch"] == "HRNet" and cfg["export"] == {
        "architecture": NAME, "decode": {"codec": "DarkHeatmap", "udp_backproject": False, "pixel_std": 200.0}}


def _crops_and_heatmaps(toy):
    """The first val crops and the trained toy network's heatmaps on them (dygraph)."""
    dataset = build_dataset(toy["config"], toy["ann"], toy["images"], train=False)
    crops = np.stack([dataset[i]["image"] for i in range(len(dataset))]).astype(np.float32)
    model = ToyHeatmapNet(17, 8)
    load_state(model, str(toy["weights"]))
    model.eval()
    with paddle.no_grad():
        return crops, model(paddle.to_tensor(crops)).numpy()


@pytest.mark.parametrize("backend", ["onnxruntime", "paddle"])
def test_every_runtime_runs_it(toy, backend):
    predictor = KeypointPredictor(toy["root"] / "export", backend=backend, threads=1)
    assert predictor.backend == backend and predictor.num_joints == 17
    crops, heatmaps = _crops_and_heatmaps(toy)
    np.testing.assert_allclose(predictor.runner(crops)[0], heatmaps, atol=1e-4, rtol=0)


def test_the_lite_runtime_runs_it(toy):
    lite_python = lite_python_or_skip()
    folder = toy["root"] / "export"
    convert_lite(folder, folder / LITE_X86_FILE, target="x86", lite_python=lite_python)
    predictor = KeypointPredictor(folder, backend="lite", threads=1, lite_python=lite_python)
    crops, heatmaps = _crops_and_heatmaps(toy)
    np.testing.assert_allclose(predictor.runner(crops)[0], heatmaps, atol=1e-4, rtol=0)


def test_tinypose_infer_runs_it(toy, tmp_path):
    image = sorted(toy["images"].glob("*.jpg"))[0]
    assert infer_main(["--model", str(toy["root"] / "export"), "--input", str(image), "--out", str(tmp_path),
                       "--boxes", str(toy["ann"])]) == 0
    persons = json.loads((tmp_path / "keypoints.json").read_text())   # a COCO keypoint results list
    assert persons and all(len(p["keypoints"]) == 17 * 3 for p in persons)


def test_the_pipeline_exports_it_from_its_weights(toy, tmp_path):
    with pipeline_root(tmp_path / "data", tmp_path / "datasets.yml"):
        node = ExportOnnx(config=str(toy["config_path"]), weights=str(toy["weights"]))
        build(node)
        export_dir = node.export_task().outputs()["model_dir"]
        assert node.outputs()["onnx"].is_file() and node.read_manifest()["info"]["check"]["ok"]
    assert load_infer_cfg(export_dir)["export"]["architecture"] == NAME

"""From weights to a phone without any data set: tinypose-bundle (ExportMobileBundle) on
synthetic weights saved under the released files' names, in a data root with no coco/ folder
and a datasets config that does not exist. Two pairs, both sizes of each model: each bundle is
exported, converted (FP32, FP16, ONNX), checked on the rendered persons and written under its
own key, the first left as it was by the second.

Synthetic weights are untrained, and two of their traits would fail checks that a released
model passes, so the saved files differ from ``synthetic_model``'s in two documented ways:

* PicoDet's box regression layers (``head.head_reg*``) are scaled by ``REG_SCALE``: synthetic
  regression logits are ~5e3 where a trained head's are a few units, and on such logits the
  box distribution's mean jumps between near-tied bins (PicoDet 320 on the rendered persons:
  0.075 px between paddle.inference and dygraph, on N(0, 1) noise 0.461 px, tolerance 0.01;
  scaled: 0.002 px);
* every float32 tensor is rounded to a float16-representable value. The FP16 check estimates
  what rounding the weights to float16 costs; untrained weights are chaotic under any rounding
  (on the rendered persons: decoded keypoints jumping 75.7 px between near-equal heatmap peaks,
  PicoDet 192 scores moving by 0.126), which fails the check, as it should for a model that bad.
  Rounded beforehand, the FP16 path (the ARM FP16 .nb, its op list, the estimate) runs whole and
  measures no weight change."""
import json

import numpy as np
import paddle
import pytest

from pipeline.bundle_cli import main as bundle_main
from pipeline.tasks import ExportMobileBundle
from pipeline_helpers import PROJECT_ROOT, pipeline_root
from synthetic_weights import synthetic_model
from tasks.common.fingerprint import file_record
from tasks.models import build_model, load_model_config

pytestmark = pytest.mark.slow
# config -> PaddleDetection's released file name
RELEASED = {"picodet_s_192_pedestrian.yml": "picodet_s_192_lcnet_pedestrian.pdparams",
            "picodet_s_320_pedestrian.yml": "picodet_s_320_lcnet_pedestrian.pdparams",
            "tinypose_128x96.yml": "tinypose_128x96.pdparams",
            "tinypose_256x192.yml": "tinypose_256x192.pdparams"}
PAIRS = (("picodet_s_192_pedestrian.yml", "tinypose_128x96.yml"),
         ("picodet_s_320_pedestrian.yml", "tinypose_256x192.yml"))
GAIN_NAME = {"PicoDet": "PicoDet", "TinyPose": "TopDownHRNet"}
REG_SCALE = 1e-3   # PicoDet's regression logits to a trained head's size (module docstring)


def released_weights(folder, config_name):
    """Synthetic weights in PaddleDetection's state_dict names, PicoDet's regression scaled and
    all float16-representable (module docstring), saved as its released file."""
    config = load_model_config(PROJECT_ROOT / "configs" / config_name)
    model = synthetic_model(build_model(config), GAIN_NAME[config["architecture"]])
    state = {}
    for name, value in model.state_dict().items():
        array = value.numpy()
        if value.dtype == paddle.float32:
            scaled = array * REG_SCALE if name.startswith("head.head_reg") else array
            array = scaled.astype(np.float16).astype(np.float32)
        state[name] = paddle.to_tensor(array)
    path = folder / RELEASED[config_name]
    paddle.save(state, str(path))
    return path


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    folder = tmp_path_factory.mktemp("released")
    root = folder / "data"
    built, records = [], {}
    with pipeline_root(root, folder / "no_datasets.yml"):
        for det, keypoint in PAIRS:
            args = ["--det-config", f"configs/{det}", "--det-weights", str(released_weights(folder, det)),
                    "--keypoint-config", f"configs/{keypoint}",
                    "--keypoint-weights", str(released_weights(folder, keypoint)), "--data-root", str(root)]
            assert bundle_main(args) == 0
            node = ExportMobileBundle(det_config=f"configs/{det}", det_weights=args[3],
                                      keypoint_config=f"configs/{keypoint}", keypoint_weights=args[7])
            assert node.complete()
            built.append(node)
            if not records:   # the first bundle's files, before the second pair is built
                records = {p: file_record(p) for p in node.bundle_dir().rglob("*") if p.is_file()}
        yield {"root": root, "nodes": built, "first_files": records}


def test_no_data_set_was_needed(bundles):
    root = bundles["root"]
    assert not any((root / name).exists() for name in ("coco", "aic", "downloads", "extracted", "annotations"))
    assert sorted(p.name for p in (root / "bundles").iterdir() if p.is_dir()) == [
        "picodet_s_192_pedestrian_picodet_s_192_lcnet_pedestrian+tinypose_128x96_tinypose_128x96",
        "picodet_s_320_pedestrian_picodet_s_320_lcnet_pedestrian+tinypose_256x192_tinypose_256x192"]


def test_a_second_pair_leaves_the_first_bundle_as_it_was(bundles):
    assert bundles["first_files"], "the first bundle has files"
    for path, record in bundles["first_files"].items():
        assert file_record(path) == record, path


@pytest.mark.parametrize("pair", [0, 1])
def test_each_bundle_holds_both_models_checked(bundles, pair):
    node = bundles["nodes"][pair]
    det_size = 192 if pair == 0 else 320
    kpt_input = [4, 3, 128, 96] if pair == 0 else [4, 3, 256, 192]
    manifest = json.loads(node.outputs()["manifest"].read_text())
    models = {m["nb"]: m for m in manifest["models"]}
    assert len(models) == 4   # detector and keypoint model x fp32, fp16
    for name, model in models.items():
        assert model["x86_fp32_check"]["ok"], name
        is_det = name.startswith("picodet")
        # checked on the rendered persons: two whole images for the detector, four person crops
        assert model["input_shapes"] == ([[2, 3, det_size, det_size], [2, 2]] if is_det else [kpt_input]), name
        if is_det:   # detection rows were there to compare, not an empty check
            assert model["x86_fp32_check"]["rows_compared"] > 0, name
        if model["precision"] == "fp16":
            assert model["fp16_weight_rounding"]["ok"], name
    onnx = {entry["name"]: entry for entry in manifest["onnx"]}
    assert len(onnx) == 2 and all(entry["check"]["ok"] for entry in onnx.values())
    det_onnx = next(entry for name, entry in onnx.items() if name.endswith("_no_nms"))
    # PaddleDetection's order without NMS: boxes [B, N, 4], then scores [B, 1, N]
    assert det_onnx["check"]["boxes_compared"] > 0
    boxes_shape, scores_shape = det_onnx["check"]["output_shapes"]
    assert boxes_shape[2] == 4 and scores_shape[1] == 1 and boxes_shape[1] == scores_shape[2]
    for precision in ("fp32", "fp16"):
        bundle = node.outputs()["mobile"] / precision
        summary = json.loads((bundle / "bundle.json").read_text())
        assert summary["models"]["det"]["nb"].startswith(f"picodet_s_{det_size}_pedestrian_picodet_s_{det_size}_lcnet")
        assert (bundle / "model_det" / "model.nb").stat().st_size > 100_000
        assert (bundle / "model_keypoint" / "model.nb").stat().st_size > 100_000
        assert (bundle / "demo.jpg").stat().st_size > 1000
    readme = node.outputs()["readme"].read_text()
    assert "## ONNX (onnxruntime)" in readme and "`boxes` [B, N, 4]" in readme


def test_flags_that_cannot_work_exit_2_with_the_reason(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bundle_main(["--det-weights", str(tmp_path / "missing.pdparams")])
    assert exit_info.value.code == 2 and "missing.pdparams: no such file" in capsys.readouterr().err
    with pipeline_root(tmp_path, tmp_path / "no_datasets.yml"), pytest.raises(SystemExit) as exit_info:
        bundle_main(["--det-config", "configs/tinypose_128x96.yml", "--data-root", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "--det-config configs/tinypose_128x96.yml is a TinyPose config" in capsys.readouterr().err

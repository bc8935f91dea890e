"""The deploy nodes on the embedded sample with the demo's detector and a short-trained TinyPose:
ExportLiteModels (four .nb files, each checked on x86, and the mobile bundle), ExportOnnx of
each (the detector's from its export without NMS), and the two detector export folders."""
import json

import pytest
import yaml

from deploy_helpers import lite_python_or_skip
from pipeline.tasks import ExportInferenceModel, ExportLiteModels, ExportOnnx
from pipeline_helpers import build, pipeline_root
from tasks.export.layout.infer_cfg import read_detector_export
from tasks.export.lite_bundle import DET_DIR, KEYPOINT_DIR

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(sample_models):
    """ExportLiteModels of the shared sample models (the demo's detector and a one-epoch
    TinyPose) and the ONNX node of each."""
    lite_python_or_skip()
    detector, keypoint = sample_models["detector"], sample_models["keypoint"]
    with pipeline_root(sample_models["root"], sample_models["datasets"]):
        lite = ExportLiteModels(configs=[keypoint, detector])
        build(lite, ExportOnnx(config=detector), ExportOnnx(config=keypoint))
        yield {"root": sample_models["root"], "detector": detector, "keypoint": keypoint, "lite": lite}


def test_lite_models_of_both_architectures_checked_on_x86(built):
    lite = built["lite"]
    assert lite.complete()
    models = {m["nb"]: m for m in json.loads(lite.outputs()["manifest"].read_text())["models"]}
    assert sorted(models) == ["picodet_s_192_sample_fp16.nb", "picodet_s_192_sample_fp32.nb", "tinypose_test_fp16.nb",
                              "tinypose_test_fp32.nb"]
    for name, model in models.items():
        check = model["x86_fp32_check"]
        # heatmaps within 1e-4; detection rows (pixels of the original image) within 1e-2, counts exactly
        assert check["ok"] and check["tol"] == (1e-4 if name.startswith("tinypose") else [1e-2, 0.0]), name
        assert all(d <= t for d, t in zip(check["max_abs_diffs"], check["tol"] if isinstance(check["tol"], list)
                                          else [check["tol"]] * len(check["max_abs_diffs"]))), name
        assert (built["root"] / "lite" / name).stat().st_size == model["size"]
    detector = models["picodet_s_192_sample_fp32.nb"]
    assert detector["input_names"] == ["image", "scale_factor"] and detector["ops"]["multiclass_nms3"] == 1
    assert detector["input_shapes"] == [[2, 3, 192, 192], [2, 2]]  # two sample val images with persons
    rounding = models["picodet_s_192_sample_fp16.nb"]["fp16_weight_rounding"]
    assert rounding["ok"] and rounding["max_shift"] <= 0.02
    assert models["tinypose_test_fp16.nb"]["fp16_weight_rounding"]["max_px"] <= 0.5
    readme = lite.outputs()["readme"].read_text()
    assert "## picodet_s_192_sample_fp32.nb" in readme
    assert "| mobile/fp16 | picodet_s_192_sample_fp16.nb | tinypose_test_fp16.nb |" in readme


def test_mobile_bundle_is_ready_to_copy(built):
    mobile = built["lite"].outputs()["mobile"]
    assert sorted(p.name for p in mobile.iterdir()) == ["fp16", "fp32"]
    for precision in ("fp32", "fp16"):
        bundle = mobile / precision
        for sub, name in ((DET_DIR, "picodet_s_192_sample"), (KEYPOINT_DIR, "tinypose_test")):
            shipped = built["root"] / "lite" / f"{name}_{precision}.nb"
            assert (bundle / sub / "model.nb").read_bytes() == shipped.read_bytes()
            export_cfg = yaml.safe_load((built["root"] / "export" / name / "infer_cfg.yml").read_text())
            assert json.loads((bundle / sub / "infer_cfg.json").read_text()) == export_cfg
        runtime = json.loads((bundle / "keypoint_runtime_config.json").read_text())
        assert runtime["model_dir_det"] == "./model_det/" and runtime["use_dark_decode"] is True
        assert (bundle / runtime["image_file"]).stat().st_size > 0  # a sample val picture


def test_detector_exports_and_onnx(built):
    root = built["root"]
    with_nms = read_detector_export(root / "export" / "picodet_s_192_sample")
    without = read_detector_export(root / "export" / "picodet_s_192_sample_no_nms")
    assert with_nms["nms_in_graph"] and not without["nms_in_graph"]
    assert with_nms["input_size"] == without["input_size"] == [192, 192] and with_nms["nms"]["nms_threshold"] == 0.6
    onnx = ExportOnnx(config=built["detector"])
    assert onnx.outputs()["onnx"] == root / "onnx" / "picodet_s_192_sample_no_nms.onnx"
    check = onnx.read_manifest()["info"]["check"]
    assert check["ok"] and check["output_shapes"] == [[2, 765, 4], [2, 1, 765]]  # boxes, scores
    export = ExportInferenceModel(config=built["detector"]).read_manifest()["info"]
    assert export["inputs"] == ["image", "scale_factor"] and export["outputs"] == ["bbox", "bbox_num"]
    with pytest.raises(ValueError, match="whose export has no NMS"):
        ExportInferenceModel(config=built["keypoint"], without_nms=True).requires()


def test_keypoint_onnx(built):
    onnx = ExportOnnx(config=built["keypoint"])
    assert onnx.outputs()["onnx"] == built["root"] / "onnx" / "tinypose_test.onnx"
    check = onnx.read_manifest()["info"]["check"]
    assert check["ok"] and check["max_abs_diff"] <= 1e-4 and check["output_shapes"] == [[4, 17, 32, 24]]

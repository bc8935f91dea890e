"""PicoDet export, both forms (NMS in the graph / without), reloaded on every runtime on fixed
inputs with synthetic weights: paddle.inference (PIR and legacy programs), onnxruntime, and
Paddle-Lite x86 (FP32), plus the ARM FP16 file's checks."""
import numpy as np
import paddle
import pytest
import yaml

from deploy_helpers import lite_python_or_skip
from synthetic_weights import synthetic_model
from tasks.detection.builders import build_model
from tasks.detection.config import load_config
from tasks.detection.nms import multiclass_nms
from tasks.export.compare import compare_outputs
from tasks.export.detector_graph import DetectorWithNMS, DetectorWithoutNMS
from tasks.export.inference_model import ExportError, export_inference_model
from tasks.export.lite import build_lite_model, check_lite, convert_lite, estimate_fp16_detector_cost
from tasks.export.onnx import check_onnx, export_onnx
from tasks.runtime.lite_env import LiteError
from tasks.runtime.runners import OnnxRunner, PaddleInferenceRunner

pytestmark = pytest.mark.slow
SIZE = 192
SCALE_FACTOR = np.array([[0.5, 0.4], [192 / 480, 192 / 640]], np.float32)  # (y, x) per image


@pytest.fixture(scope="module")
def config():
    return load_config("configs/picodet_s_192_pedestrian.yml")


@pytest.fixture(scope="module")
def model(config):
    return synthetic_model(build_model(config), "PicoDet")


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(5).standard_normal((2, 3, SIZE, SIZE)).astype(np.float32)


@pytest.fixture(scope="module")
def exports(model, config, images, tmp_path_factory):
    """{True: export with NMS, False: without} of the synthetic model, with their manifests;
    each checked on the two test images."""
    root = tmp_path_factory.mktemp("detector_export")
    check_inputs = {True: [images, SCALE_FACTOR], False: [images]}
    return {with_nms: (root / f"nms_{with_nms}",
                       export_inference_model(model, root / f"nms_{with_nms}", [SIZE, SIZE], architecture="PicoDet",
                                              nms_settings=config["nms"], with_nms=with_nms,
                                              check_inputs=check_inputs[with_nms]))
            for with_nms in (True, False)}


def dygraph(model, *arrays):
    with paddle.no_grad():
        return [t.numpy() for t in model(*(paddle.to_tensor(a) for a in arrays))]


def reference_rows(model, config, images, scale_factor):
    """The project's inference path: decoded dygraph outputs, boxes to original pixels, numpy NMS."""
    scores, boxes = dygraph(model, images)
    rows = []
    for image_scores, image_boxes, (scale_y, scale_x) in zip(scores, boxes, scale_factor):
        rows.append(multiclass_nms(image_boxes / np.array([scale_x, scale_y, scale_x, scale_y], np.float32),
                                   image_scores, **config["nms"]))
    return rows


def test_both_forms_reload_in_both_programs(exports):
    for with_nms, (folder, info) in exports.items():
        assert info["architecture"] == "PicoDet"
        assert {k: v["program"] for k, v in info["reload_check"].items()} == {"pir": "model.json",
                                                                             "legacy": "model.pdmodel"}
        assert all(check["ok"] and check["max_abs_diff"] <= 1e-4 for check in info["reload_check"].values())
        assert all(check["input_shape"] == [2, 3, SIZE, SIZE] for check in info["reload_check"].values())
        cfg = yaml.safe_load((folder / "infer_cfg.yml").read_text())
        assert cfg["export"]["nms"] is with_nms and cfg["arch"] == "GFL"
        assert info["inputs"] == cfg["export"]["inputs"] and info["outputs"] == cfg["export"]["outputs"]
    assert exports[False][1]["reload_check"]["legacy"]["boxes_compared"] > 0


def test_nms_in_the_graph_equals_numpy_nms_after_the_plain_export(model, config, exports, images):
    expected = reference_rows(model, config, images, SCALE_FACTOR)
    assert sum(len(r) for r in expected) > 0, "synthetic weights must give detections"
    wrapped = DetectorWithNMS(model, config["nms"])
    for program in ("pir", "legacy"):
        nms_runner = PaddleInferenceRunner(exports[True][0], program=program)
        assert nms_runner.input_names == ["image", "scale_factor"]
        bbox, bbox_num = nms_runner(images, SCALE_FACTOR)
        assert bbox_num.dtype == np.int32 and bbox_num.tolist() == [len(r) for r in expected]
        np.testing.assert_allclose(bbox, np.concatenate(expected), atol=1e-3, rtol=0)
        np.testing.assert_allclose(bbox, dygraph(wrapped, images, SCALE_FACTOR)[0], atol=1e-4, rtol=0)

        plain_runner = PaddleInferenceRunner(exports[False][0], program=program)
        assert plain_runner.input_names == ["image"]
        boxes, scores = plain_runner(images)   # PaddleDetection's order without NMS
        assert boxes.shape == (2, 765, 4) and scores.shape == (2, 1, 765)
        result = compare_outputs(dygraph(DetectorWithoutNMS(model), images), [boxes, scores], 1e-4,
                                 score_floor=config["nms"]["score_threshold"])
        assert result["ok"] and result["boxes_compared"] > 0, result


def test_a_check_that_cannot_pass_reports_the_boxes(model, config, images):
    scores, boxes = dygraph(model, images)
    moved = boxes.copy()
    moved[scores.max(axis=1) >= 0.025] += 0.5  # only boxes that can become detections count
    far = boxes.copy()
    far[scores.max(axis=1) < 0.025] += 100.0
    # either order: PaddleDetection's (boxes, scores), and this project's exports before issue 24
    for order in (lambda b, s: [b, s], lambda b, s: [s, b]):
        result = compare_outputs(order(boxes, scores), order(moved, scores), 1e-4, score_floor=0.025)
        assert not result["ok"] and result["max_abs_diff"] == pytest.approx(0.5)
        assert compare_outputs(order(boxes, scores), order(far, scores), 1e-4, score_floor=0.025)["ok"]
    with pytest.raises(ValueError, match=r"expected boxes \[B, N, 4\] and scores \[B, C, N\]"):
        compare_outputs([scores], [scores], 1e-4, score_floor=0.025)


def test_onnx_of_the_export_without_nms(exports, images, tmp_path, config):
    folder = exports[False][0]
    info = export_onnx(folder, tmp_path / "picodet.onnx")
    assert info["size"] > 1_000_000
    assert OnnxRunner(tmp_path / "picodet.onnx").input_names == ["image"]
    result = check_onnx(tmp_path / "picodet.onnx", folder, [images], score_floor=config["nms"]["score_threshold"])
    assert result["ok"] and result["max_abs_diff"] <= 1e-4 and result["boxes_compared"] > 0


def test_lite_x86_runs_the_nms_export_and_the_arm_files_hold_it(model, config, exports, images, tmp_path):
    lite_python = lite_python_or_skip()
    folder = exports[True][0]
    fp32 = build_lite_model(folder, tmp_path / "det_fp32", "fp32", [images, SCALE_FACTOR], lite_python=lite_python)
    assert fp32["x86_fp32_check"]["ok"] and fp32["x86_fp32_check"]["max_abs_diff"] <= 1e-4
    assert fp32["x86_fp32_check"]["output_shapes"][1] == [2]
    assert fp32["ops"]["multiclass_nms3"] == 1 and fp32["input_names"] == ["image", "scale_factor"]
    fp16 = build_lite_model(folder, tmp_path / "det_fp16", "fp16", [images, SCALE_FACTOR], lite_python=lite_python,
                            fp16_check=lambda arrays: estimate_fp16_detector_cost(model, arrays[0], 0.025))
    assert fp16["ops"]["multiclass_nms3"] == 1 and fp16["ops"].get("calib", 0) > 0
    rounding = fp16["fp16_weight_rounding"]
    assert rounding["ok"] and rounding["anchors"] > 0 and rounding["max_score_diff"] <= 0.05
    with pytest.raises(ValueError, match="fp16_check"):
        build_lite_model(folder, tmp_path / "x", "fp16", [images, SCALE_FACTOR], lite_python=lite_python)


def test_fp16_cost_counts_confident_anchors_and_enforces_its_limits(model, images):
    cost = estimate_fp16_detector_cost(model, images, 0.025)
    scores = dygraph(model, images)[0]
    assert cost["score_floor"] == 0.1 and 0 < cost["anchors"] <= int((scores.max(axis=1) >= 0.09).sum())
    assert cost["max_shift"] <= cost["limit_shift"] and cost["max_score_diff"] <= cost["limit_score"]
    with pytest.raises(LiteError, match=r"scores by up to [0-9.]+ \(limit 0\)"):
        estimate_fp16_detector_cost(model, images, 0.025, max_score=0)


def test_lite_x86_runs_the_export_without_nms(config, exports, images, tmp_path):
    lite_python = lite_python_or_skip()
    folder = exports[False][0]
    nb = convert_lite(folder, tmp_path / "plain_x86", target="x86", lite_python=lite_python)
    result = check_lite(folder, nb, [images], lite_python=lite_python, score_floor=config["nms"]["score_threshold"])
    assert result["ok"] and result["output_shapes"] == [[2, 765, 4], [2, 1, 765]]
    with pytest.raises(LiteError, match=r"max abs diff [0-9.e+-]+ > 1e-12"):
        check_lite(folder, nb, [images], lite_python=lite_python, tol=1e-12)


def test_export_refuses_what_does_not_fit(model, config, tmp_path):
    with pytest.raises(ValueError, match="PicoDet Layer needs nms_settings"):
        export_inference_model(model, tmp_path / "a", [SIZE, SIZE], architecture="PicoDet")
    with pytest.raises(ValueError, match="TinyPose has no NMS"):
        export_inference_model(load_config_tinypose(), tmp_path / "b", [96, 128], with_nms=False)
    with pytest.raises(ValueError, match=r"1 check input\(s\) for the export's 2 \(image, scale_factor\)"):
        export_inference_model(model, tmp_path / "d", [SIZE, SIZE], architecture="PicoDet",
                               nms_settings=config["nms"], check_inputs=[np.zeros((1, 3, SIZE, SIZE))])
    with pytest.raises(ExportError, match="multiples of 32"):
        export_inference_model(model, tmp_path / "c", [200, 192], architecture="PicoDet",
                               nms_settings=config["nms"])


def load_config_tinypose():
    from tasks.keypoint.config import load_config as load_keypoint_config
    return load_keypoint_config("configs/tinypose_128x96.yml")

"""The mobile bundle ExportLiteModels writes for PaddleDetection's C++ Lite demo: its files,
their keys and values, and the README that says how to run it (no Paddle-Lite needed)."""
import json

import pytest
import yaml

from tasks.common.fingerprint import file_record
from tasks.export.artifacts import write_lite_files
from tasks.export.lite_bundle import runtime_configs, write_bundle
from tasks.models import build_infer_cfg

NMS = {"score_threshold": 0.025, "nms_threshold": 0.6, "nms_top_k": 1000, "keep_top_k": 100}
# deploy/lite/keypoint_runtime_config.json's keys, and output_dir, which its main.cc reads too
KEYPOINT_RUNTIME_KEYS = {"model_dir_det", "batch_size_det", "threshold_det", "model_dir_keypoint",
                         "batch_size_keypoint", "threshold_keypoint", "image_file", "image_dir", "run_benchmark",
                         "cpu_threads", "use_dark_decode", "output_dir"}


def _model(tmp_path, name, architecture, precision, with_nms=True, decode=None):
    """A converted model as ExportLiteModels hands it over: export folder with infer_cfg.yml, a .nb."""
    folder = tmp_path / "export" / name
    folder.mkdir(parents=True, exist_ok=True)
    if architecture == "PicoDet":
        cfg = build_infer_cfg("PicoDet", [192, 192], nms=NMS, with_nms=with_nms)
        inputs, shapes, outputs = ["image", "scale_factor"], [[2, 3, 192, 192], [2, 2]], [[3, 6], [2]]
    else:
        cfg = build_infer_cfg("TinyPose", [96, 128], decode=decode)
        inputs, shapes, outputs = ["image"], [[4, 3, 128, 96]], [[4, 17, 32, 24]]
    (folder / "infer_cfg.yml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    nb = tmp_path / "lite" / f"{name}_{precision}.nb"
    nb.parent.mkdir(exist_ok=True)
    nb.write_bytes(f"{name} {precision}".encode())
    info = {"nb": nb.name, "precision": precision, "input_names": inputs, "input_shapes": shapes,
            "output_names": ["a", "b"], "x86_fp32_check": {"max_abs_diff": 2e-6, "output_shapes": outputs},
            **file_record(nb)}
    if precision == "fp16":
        info["fp16_weight_rounding"] = ({"max_px": 0.01, "mean_px": 0.001, "max_shift": 0.001, "anchors": 5, "score_floor": 0.1,
                                         "max_score_diff": 0.002} if architecture == "PicoDet" else
                                        {"max_px": 0.02, "mean_px": 0.003})
    return {"name": name, "architecture": architecture, "info": info, "nb_path": nb, "model_dir": folder}


@pytest.fixture
def models(tmp_path):
    return [_model(tmp_path, name, arch, precision)
            for name, arch in (("tinypose_128x96", "TinyPose"), ("tinypose_256x192", "TinyPose"),
                               ("picodet_s_192_pedestrian", "PicoDet"), ("picodet_s_320_pedestrian", "PicoDet"))
            for precision in ("fp32", "fp16")]


def test_bundle_per_precision_holds_what_the_cpp_demo_reads(models, tmp_path):
    demo = tmp_path / "person.jpg"
    demo.write_bytes(b"jpeg")
    result = write_lite_files(models, tmp_path / "lite" / "manifest.json", tmp_path / "lite" / "README.md",
                              tmp_path / "lite" / "mobile", demo)
    assert result["bundles"] == ["fp32", "fp16"] and len(result["files"]) == 8
    for precision in ("fp32", "fp16"):
        bundle = tmp_path / "lite" / "mobile" / precision
        assert sorted(p.name for p in bundle.iterdir()) == [
            "bundle.json", "demo.jpg", "det_runtime_config.json", "keypoint_runtime_config.json",
            "model_det", "model_keypoint"]
        # the first detector and the first keypoint model listed, of this precision
        assert (bundle / "model_det" / "model.nb").read_bytes() == f"picodet_s_192_pedestrian {precision}".encode()
        assert (bundle / "model_keypoint" / "model.nb").read_bytes() == f"tinypose_128x96 {precision}".encode()
        det_cfg = json.loads((bundle / "model_det" / "infer_cfg.json").read_text())
        assert det_cfg == yaml.safe_load((tmp_path / "export" / "picodet_s_192_pedestrian" / "infer_cfg.yml")
                                         .read_text())  # convert_yml_to_json.py's form
        assert det_cfg["arch"] == "GFL" and det_cfg["NMS"]["nms_threshold"] == 0.6
        kpt_cfg = json.loads((bundle / "model_keypoint" / "infer_cfg.json").read_text())
        assert kpt_cfg["arch"] == "HRNet" and kpt_cfg["Preprocess"][0] == {"type": "TopDownEvalAffine",
                                                                         "trainsize": [96, 128]}
        runtime = json.loads((bundle / "keypoint_runtime_config.json").read_text())
        assert set(runtime) == KEYPOINT_RUNTIME_KEYS
        assert runtime["model_dir_det"] == "./model_det/" and runtime["model_dir_keypoint"] == "./model_keypoint/"
        assert runtime["threshold_det"] == 0.5 and runtime["use_dark_decode"] is True
        assert runtime["image_file"] == "./demo.jpg" and (bundle / "demo.jpg").read_bytes() == b"jpeg"
        det_only = json.loads((bundle / "det_runtime_config.json").read_text())
        assert det_only["model_dir_keypoint"] == "" and det_only["model_dir_det"] == "./model_det/"
        summary = json.loads((bundle / "bundle.json").read_text())
        assert summary["precision"] == precision
        assert summary["models"]["det"]["sha256"] == file_record(bundle / "model_det" / "model.nb")["sha256"]
    manifest = json.loads((tmp_path / "lite" / "manifest.json").read_text())
    assert [b["folder"] for b in manifest["bundles"]] == ["fp32", "fp16"]
    readme = (tmp_path / "lite" / "README.md").read_text()
    assert "./main keypoint_runtime_config.json" in readme and "adb push mobile/fp32" in readme
    assert "| mobile/fp16 | picodet_s_192_pedestrian_fp16.nb | tinypose_128x96_fp16.nb |" in readme
    assert "`bbox` [K, 6] rows (class, score, x1, y1, x2, y2) in original-image pixels" in readme
    assert "Resize the whole image to 192x192" in readme and "heatmaps [N, 17, 32, 24]" in readme


def test_no_bundle_without_both_kinds_of_model(models, tmp_path):
    keypoints_only = [m for m in models if m["architecture"] == "TinyPose"]
    result = write_lite_files(keypoints_only, tmp_path / "m.json", tmp_path / "R.md", tmp_path / "mobile",
                              tmp_path / "unused.jpg")
    assert result["bundles"] == [] and list((tmp_path / "mobile").iterdir()) == []
    assert "None written" in (tmp_path / "R.md").read_text()


def test_the_bundle_detector_must_hold_its_nms(tmp_path):
    det = _model(tmp_path, "picodet_no_nms", "PicoDet", "fp32", with_nms=False)
    kpt = _model(tmp_path, "tinypose", "TinyPose", "fp32")
    with pytest.raises(ValueError, match="picodet_no_nms: the bundle's detector must hold NMS"):
        write_bundle(tmp_path / "mobile" / "fp32", det, kpt, tmp_path / "x.jpg")


def test_the_bundle_keypoint_model_must_decode_as_the_cpp_demo_does(tmp_path):
    det = _model(tmp_path, "picodet", "PicoDet", "fp32")
    udp = _model(tmp_path, "tinypose_udp", "TinyPose", "fp32",
                 decode={"codec": "UDPHeatmap", "udp_backproject": True, "pixel_std": 200})
    with pytest.raises(ValueError, match="tinypose_udp: the C\\+\\+ demo decodes heatmaps as .*'DarkHeatmap'.*"
                                         "this model was trained to be decoded as .*'UDPHeatmap'"):
        write_bundle(tmp_path / "mobile" / "fp32", det, udp, tmp_path / "x.jpg")


def test_runtime_configs_take_the_detectors_draw_threshold():
    keypoint, det = runtime_configs({"draw_threshold": 0.4})
    assert keypoint["threshold_det"] == det["threshold_det"] == 0.4
    assert "use_dark_decode" not in det and det["cpu_threads"] == keypoint["cpu_threads"] == 4

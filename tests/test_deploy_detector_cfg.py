"""A PicoDet config through the export plumbing without exporting: tasks.models dispatch, the
detector's infer_cfg.yml in PaddleDetection's layout (both forms) and read_detector_export."""
import numpy as np
import pytest
import yaml

from tasks.common.config import ConfigError
from tasks.detection.model import PicoDet
from tasks.export.layout.infer_cfg import DETECTOR_ARCH, read_detector_export
from tasks.models import architecture, build_infer_cfg, build_model, load_model_config, spec_of

NMS = {"score_threshold": 0.025, "nms_threshold": 0.6, "nms_top_k": 1000, "keep_top_k": 100}


def test_load_model_config_dispatches_on_architecture(tmp_path):
    detector = load_model_config("configs/picodet_s_320_pedestrian.yml")  # through _base_
    assert architecture(detector) == "PicoDet" and spec_of(detector).kind.carries_nms and detector["model"]["input_size"] == [320, 320]
    assert isinstance(build_model(detector), PicoDet)
    assert load_model_config("configs/tinypose_128x96.yml")["architecture"] == "TinyPose"
    (tmp_path / "bad.yml").write_text(yaml.safe_dump({"name": "x", "architecture": "YOLO"}))
    # the shipped architectures first; one registered by another test (tests/toy_architecture.py) may follow
    with pytest.raises(ConfigError, match=r"bad.yml: architecture 'YOLO' is not one of \['PicoDet', 'TinyPose'"):
        load_model_config(tmp_path / "bad.yml")
    # the architecture's own rules still run: a PicoDet config without its nms section is refused
    config = yaml.safe_load(open("configs/picodet_s_192_pedestrian.yml"))
    del config["nms"]
    (tmp_path / "no_nms.yml").write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match="nms"):
        load_model_config(tmp_path / "no_nms.yml")


def test_detector_infer_cfg_is_paddledetections_picodet_layout():
    cfg = build_infer_cfg("PicoDet", [320, 192], nms=NMS, fpn_stride=[8, 16, 32, 64])
    assert cfg["mode"] == "paddle" and cfg["metric"] == "COCO" and cfg["draw_threshold"] == 0.5
    assert cfg["arch"] == DETECTOR_ARCH == "GFL"  # PaddleDetection's arch for a post-processed PicoDet
    assert cfg["min_subgraph_size"] == 3 and cfg["label_list"] == ["pedestrian"]
    assert cfg["Preprocess"] == [
        {"type": "Resize", "interp": 2, "keep_ratio": False, "target_size": [192, 320]},  # [h, w]
        {"type": "NormalizeImage", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "is_scale": True},
        {"type": "Permute"}]
    assert cfg["NMS"] == {"name": "MultiClassNMS", **NMS} and cfg["fpn_stride"] == [8, 16, 32, 64]
    assert cfg["export"] == {"architecture": "PicoDet", "nms": True, "inputs": ["image", "scale_factor"],
                             "outputs": ["bbox", "bbox_num"], "boxes": "original image pixels"}
    fused = build_infer_cfg("PicoDet", [192, 192], nms=NMS, with_nms=False, fuse_normalize=True)
    assert [s["type"] for s in fused["Preprocess"]] == ["Resize", "Permute"]
    assert fused["export"]["nms"] is False and fused["export"]["inputs"] == ["image"]
    assert fused["export"]["outputs"] == ["boxes", "scores"]  # PaddleDetection's order without NMS


def _write(folder, cfg):
    folder.mkdir()
    (folder / "infer_cfg.yml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return folder


def test_read_detector_export_gives_what_inference_needs(tmp_path):
    with_nms = _write(tmp_path / "a", build_infer_cfg("PicoDet", [320, 192], nms=NMS))
    info = read_detector_export(with_nms)
    assert info["input_size"] == [320, 192] and info["interp"] == 2 and info["nms_in_graph"] is True
    assert info["normalize"] == {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "is_scale": True}
    assert info["nms"] == NMS and info["inputs"] == ["image", "scale_factor"]
    assert info["outputs"] == ["bbox", "bbox_num"] and info["boxes"] == "original image pixels"
    fused = read_detector_export(_write(tmp_path / "b", build_infer_cfg(
        "PicoDet", [192, 192], nms={**NMS, "score_threshold": 0.1}, with_nms=False, fuse_normalize=True)))
    assert fused["normalize"] is None and fused["nms_in_graph"] is False and fused["nms"]["score_threshold"] == 0.1
    assert fused["outputs"] == ["boxes", "scores"] and fused["boxes"] == "network input pixels"


def test_read_detector_export_refuses_what_is_not_one(tmp_path):
    with pytest.raises(ValueError, match="infer_cfg.yml does not exist"):
        read_detector_export(tmp_path)
    keypoint = _write(tmp_path / "kpt", build_infer_cfg("TinyPose", [96, 128]))
    with pytest.raises(ValueError, match="kpt/infer_cfg.yml: Preprocess needs a Resize step"):
        read_detector_export(keypoint)
    cfg = build_infer_cfg("PicoDet", [192, 192], nms=NMS)
    del cfg["NMS"]["keep_top_k"]
    with pytest.raises(ValueError, match=r"NMS lacks \['keep_top_k'\]"):
        read_detector_export(_write(tmp_path / "det", cfg))


def test_nms_outputs_compare_by_matched_rows_above_the_floor():
    from tasks.export.compare import compare_outputs
    rows = np.array([[0, 0.90, 10, 10, 50, 90], [0, 0.05, 60, 5, 80, 40]], np.float32)
    shifted = rows[:1] + np.array([0, 1e-4, 0.004, 0, 0, 0], np.float32)  # a low-score row dropped
    result = compare_outputs([rows, np.array([2])], [shifted, np.array([1])], [1e-2, 0.0], score_floor=0.025)
    assert result["ok"] and result["rows"] == [2, 1] and abs(result["max_abs_diff"] - 0.004) < 1e-6
    missing = compare_outputs([rows, np.array([2])], [rows[1:], np.array([1])], [1e-2, 0.0], score_floor=0.025)
    assert not missing["ok"]   # the 0.9 row has no counterpart
    tied = np.array([[0, 0.90, 30, 30, 70, 95]], np.float32)   # another box of the same score kept instead
    assert compare_outputs([rows[:1], np.array([1])], [tied, np.array([1])], [1e-2, 0.0], score_floor=0.025)["ok"]

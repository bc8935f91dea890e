"""The mobile bundle: one folder per precision that PaddleDetection's C++ Paddle-Lite demo
(``deploy/lite``, its ``main`` binary) runs as it is, detector + TinyPose on a phone.

    <bundle_dir>/<precision>/
        model_det/model.nb, model_det/infer_cfg.json            the detector (NMS in the graph)
        model_keypoint/model.nb, model_keypoint/infer_cfg.json  TinyPose
        keypoint_runtime_config.json   detector + keypoints: ./main keypoint_runtime_config.json
        det_runtime_config.json        the detector alone:   ./main det_runtime_config.json
        demo.jpg                       a picture with persons, the configs' image_file
        bundle.json                    which models, their sha256, what was checked on x86

infer_cfg.json is the model's infer_cfg.yml as JSON (what the demo's ``convert_yml_to_json.py``
writes). The demo dispatches on its ``arch``: "GFL" (our detector export) reads the outputs
bbox [K, 6] + bbox_num, "HRNet" (TinyPose) the heatmaps.
"""
import json
import shutil
from pathlib import Path

from tasks.common.atomic import write_json
from tasks.common.fingerprint import file_record
from tasks.export.layout.infer_cfg import DEFAULT_KEYPOINT_DECODE, export_kind, keypoint_export, load_infer_cfg

DET_DIR, KEYPOINT_DIR = "model_det", "model_keypoint"
DEMO_IMAGE = "demo.jpg"
# deploy/lite/keypoint_runtime_config.json's keys; main.cc also reads output_dir (no default there)
RUNTIME_DEFAULTS = {
    "batch_size_det": 1,          # main.cc forces 1 when a keypoint model is given
    "batch_size_keypoint": 8,     # persons per TinyPose run
    "threshold_keypoint": 0.5,
    "image_file": f"./{DEMO_IMAGE}",
    "image_dir": "",
    "run_benchmark": False,
    "cpu_threads": 4,             # the published Snapdragon 865 figures use 4 threads
    "use_dark_decode": True,      # TinyPose decodes with DARK
    "output_dir": "./output",
}


def runtime_configs(det_cfg):
    """(keypoint_runtime_config, det_runtime_config) dicts for the bundle's relative layout;
    the detector threshold is its infer_cfg's draw_threshold."""
    keypoint = {"model_dir_det": f"./{DET_DIR}/", "threshold_det": float(det_cfg["draw_threshold"]),
                "model_dir_keypoint": f"./{KEYPOINT_DIR}/", **RUNTIME_DEFAULTS}
    det = {**keypoint, "model_dir_keypoint": ""}  # empty: main runs the detector alone
    for key in ("batch_size_keypoint", "threshold_keypoint", "use_dark_decode"):
        det.pop(key)
    return keypoint, det


def _place_model(folder, model):
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model["nb_path"], folder / "model.nb")
    cfg = load_infer_cfg(model["model_dir"])
    (folder / "infer_cfg.json").write_text(json.dumps(cfg, indent=4))
    return cfg


def write_bundle(folder, det, keypoint, demo_image):
    """One bundle folder from a detector and a keypoint model of the same precision.

    det, keypoint: {"name", "nb_path", "model_dir" (the export, for infer_cfg.yml), "info"
    (``tasks.export.artifacts.convert_checked_lite``'s dict)}. Returns bundle.json's content.
    """
    folder = Path(folder)
    if folder.exists():
        shutil.rmtree(folder)  # a bundle is rewritten whole: no file of an older pairing stays
    det_cfg = _place_model(folder / DET_DIR, det)
    if det_cfg.get("export", {}).get("nms") is not True:
        raise ValueError(f"{det['model_dir']}: the bundle's detector must hold NMS in its graph "
                         "(the C++ demo reads bbox + bbox_num for arch GFL)")
    decode = keypoint_export(_place_model(folder / KEYPOINT_DIR, keypoint), keypoint["model_dir"])["decode"]
    if decode != DEFAULT_KEYPOINT_DECODE:
        raise ValueError(f"{keypoint['model_dir']}: the C++ demo decodes heatmaps as {DEFAULT_KEYPOINT_DECODE}; "
                         f"this model was trained to be decoded as {decode} (run it with tinypose-infer)")
    keypoint_rt, det_rt = runtime_configs(det_cfg)
    write_json(folder / "keypoint_runtime_config.json", keypoint_rt, indent=True)
    write_json(folder / "det_runtime_config.json", det_rt, indent=True)
    shutil.copyfile(demo_image, folder / DEMO_IMAGE)
    summary = {
        "folder": folder.name,
        "precision": det["info"]["precision"],
        "models": {role: {"name": m["name"], "nb": m["info"]["nb"], "sha256": file_record(folder / sub / "model.nb")
                          ["sha256"], "x86_fp32_check": m["info"]["x86_fp32_check"],
                          **({"fp16_weight_rounding": m["info"]["fp16_weight_rounding"]}
                             if "fp16_weight_rounding" in m["info"] else {})}
                   for role, sub, m in (("det", DET_DIR, det), ("keypoint", KEYPOINT_DIR, keypoint))},
    }
    write_json(folder / "bundle.json", summary, indent=True)
    return summary


def write_bundles(models, bundle_dir, demo_image):
    """A bundle per precision pairing the first detector and the first keypoint model of
    ``models`` (dicts as ``write_bundle`` takes; their infer_cfg.yml tells the kind); none when either is missing.
    ``bundle_dir`` is created either way."""
    Path(bundle_dir).mkdir(parents=True, exist_ok=True)
    kinds = [export_kind(load_infer_cfg(m["model_dir"])) for m in models]
    detectors = [m for m, kind in zip(models, kinds) if kind == "detector"]
    keypoints = [m for m, kind in zip(models, kinds) if kind == "keypoint"]
    if not detectors or not keypoints:
        return []
    bundles = []
    for precision in dict.fromkeys(m["info"]["precision"] for m in models):
        det = next((m for m in detectors if m["info"]["precision"] == precision
                    and m["name"] == detectors[0]["name"]), None)
        keypoint = next((m for m in keypoints if m["info"]["precision"] == precision
                         and m["name"] == keypoints[0]["name"]), None)
        if det and keypoint:
            bundles.append(write_bundle(Path(bundle_dir) / precision, det, keypoint, demo_image))
    return bundles

"""infer_cfg.yml: what PaddleDetection's deploy code reads beside an exported model, and the
one place that writes and reads it.

Writers, one per kind of model, return the dict for an input ``[w, h]``: ``keypoint_infer_cfg``
(a top-down heatmap model) and ``detector_infer_cfg``. Keys and preprocess steps follow
PaddleDetection's ``ppdet/engine/export_utils.py`` (``_dump_infer_config``); this project adds
an ``export:`` section: the architecture, and what PaddleDetection's keys cannot say (a
keypoint model's codec and decoding options; the form of a detector export).

Readers: ``export_kind`` (which kind a file describes), ``read_keypoint_export`` and
``read_detector_export`` (what runtimes need, PaddleDetection's released folders included:
they have no ``export:`` section, and their defaults are PP-TinyPose's).
"""
from pathlib import Path

import yaml

from tasks.export.layout.files import INFER_CFG
from tasks.transforms import IMAGENET_MEAN, IMAGENET_STD

# What a keypoint export without an ``export:`` section (PaddleDetection's) is decoded with:
# PP-TinyPose's DARK heatmaps, crops mapped back as PaddleDetection's transform_preds does.
DEFAULT_KEYPOINT_DECODE = {"codec": "DarkHeatmap", "udp_backproject": False, "pixel_std": 200}
# the Preprocess step that says which kind of model a file describes, and its input-size key
KIND_STEPS = {"keypoint": ("TopDownEvalAffine", "trainsize"), "detector": ("Resize", "target_size")}
# PaddleDetection writes arch "GFL" for a PicoDet exported with its post-processing (decoded
# boxes, with or without NMS): its deploy code (deploy/python, deploy/cpp, deploy/lite) then reads
# the outputs as boxes; arch "PicoDet" means the raw per-level head outputs, which it decodes itself.
DETECTOR_ARCH = "GFL"


def _common_fields(draw_threshold, *, metric, arch) -> dict:
    """The keys every PaddleDetection infer_cfg.yml starts with (min_subgraph_size: its TensorRT
    subgraph size for both models)."""
    return {"mode": "paddle", "draw_threshold": float(draw_threshold), "metric": metric,
            "use_dynamic_shape": False, "arch": arch, "min_subgraph_size": 3}


def _preprocess(resize_step, fuse_normalize, mean, std) -> list:
    """The resize step, NormalizeImage (left out when the network normalizes itself), Permute."""
    normalize = [] if fuse_normalize else [{"type": "NormalizeImage", "mean": list(mean), "std": list(std),
                                            "is_scale": True}]
    return [resize_step, *normalize, {"type": "Permute"}]


def keypoint_infer_cfg(input_size, *, architecture="TinyPose", decode=None, fuse_normalize=False,
                       mean=IMAGENET_MEAN, std=IMAGENET_STD, draw_threshold=0.5):
    """Top-down keypoint model (TinyPose, PaddleDetection's TopDownHRNet): the layout
    deploy/python/keypoint_infer.py reads, plus ``export:`` with the architecture and ``decode``
    ({"codec": a class of ``tasks.keypoint.codecs``, "udp_backproject", "pixel_std"}: how its
    heatmaps become image pixels; default ``DEFAULT_KEYPOINT_DECODE``).

    TopDownEvalAffine's ``trainsize`` is [w, h]; with ``fuse_normalize`` the
    NormalizeImage step is left out because the network normalizes itself.
    """
    w, h = (int(v) for v in input_size)
    return {
        **_common_fields(draw_threshold, metric="KeyPointTopDownCOCOEval", arch="HRNet"),  # TopDownHRNet's name
        "Preprocess": _preprocess({"type": "TopDownEvalAffine", "trainsize": [w, h]}, fuse_normalize, mean, std),
        "label_list": ["keypoint"],
        "fuse_normalize": bool(fuse_normalize),
        "export": {"architecture": architecture, "decode": _decode_options(decode or DEFAULT_KEYPOINT_DECODE)},
    }


def _decode_options(decode) -> dict:
    return {"codec": str(decode["codec"]), "udp_backproject": bool(decode["udp_backproject"]),
            "pixel_std": float(decode["pixel_std"])}


def detector_infer_cfg(input_size, *, nms, architecture="PicoDet", with_nms=True, fpn_stride=(8, 16, 32, 64),
                       fuse_normalize=False, mean=IMAGENET_MEAN, std=IMAGENET_STD, draw_threshold=0.5,
                       label_list=("pedestrian",)):
    """PicoDet-S pedestrian exported with its post-processing: the layout deploy/python/infer.py
    and deploy/lite read, plus ``export:`` (this project's key) naming the form of the folder.

    nms: the config's NMS numbers (``MultiClassNMS``); with_nms: whether they run in the graph
    (inputs image + scale_factor, outputs bbox + bbox_num) or in the caller (input image,
    outputs boxes + scores, PaddleDetection's order). Resize's ``target_size`` is [h, w], as PaddleDetection writes it.
    """
    from tasks.export.layout.detector_io import DECODED_INPUTS, DECODED_OUTPUTS, NMS_INPUTS, NMS_KEYS, NMS_OUTPUTS

    w, h = (int(v) for v in input_size)
    resize = {"type": "Resize", "interp": 2, "keep_ratio": False, "target_size": [h, w]}
    return {
        **_common_fields(draw_threshold, metric="COCO", arch=DETECTOR_ARCH),
        "Preprocess": _preprocess(resize, fuse_normalize, mean, std),
        "label_list": list(label_list),
        "NMS": {"name": "MultiClassNMS", **{key: nms[key] for key in NMS_KEYS}},
        "fpn_stride": [int(s) for s in fpn_stride],
        "fuse_normalize": bool(fuse_normalize),
        "export": {
            "architecture": architecture,
            "nms": bool(with_nms),
            "inputs": list(NMS_INPUTS if with_nms else DECODED_INPUTS),
            "outputs": list(NMS_OUTPUTS if with_nms else DECODED_OUTPUTS),
            "boxes": "original image pixels" if with_nms else "network input pixels",
        },
    }


def write_infer_cfg(model_dir, cfg) -> Path:
    """``cfg`` (a writer's dict) as ``model_dir/infer_cfg.yml``, keys in the writer's order."""
    path = Path(model_dir) / INFER_CFG
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)
    return path


def load_infer_cfg(model_dir) -> dict:
    """The ``infer_cfg.yml`` of an export folder as a dict with a ``Preprocess`` list; ValueError
    naming the file when it is missing, unreadable or not such a mapping."""
    path = Path(model_dir) / INFER_CFG
    if not path.is_file():
        raise ValueError(f"{path} does not exist: {model_dir} is not an exported model folder")
    try:
        cfg = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: no readable Preprocess list ({exc!r})") from None
    if not (isinstance(cfg, dict) and isinstance(cfg.get("Preprocess"), list)
            and all(isinstance(step, dict) and "type" in step for step in cfg["Preprocess"])):
        raise ValueError(f"{path}: no readable Preprocess list (a list of {{type: ...}} steps)")
    return cfg


def preprocess_steps(cfg) -> dict:
    """{step type: step} of an infer_cfg dict's Preprocess list."""
    return {step["type"]: step for step in cfg["Preprocess"]}


def export_kind(cfg):
    """"keypoint" or "detector": the kind of model an infer_cfg dict describes (its Preprocess
    step, ``KIND_STEPS``), or None."""
    steps = preprocess_steps(cfg)
    return next((kind for kind, (step, _) in KIND_STEPS.items() if step in steps), None)


def input_size(cfg, kind):
    """[w, h] of a ``kind`` export's input (PaddleDetection writes a detector's Resize as [h, w]);
    ValueError when the step's size is not two positive integers."""
    step_type, key = KIND_STEPS[kind]
    size = preprocess_steps(cfg).get(step_type, {}).get(key)
    if not (isinstance(size, list) and len(size) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)):
        raise ValueError(f"its {step_type} step needs {key}: two positive integers, got {size!r}")
    return [int(v) for v in (size if kind == "keypoint" else reversed(size))]


def _normalize(steps):
    """{"mean", "std", "is_scale"} of the NormalizeImage step, or None when the network normalizes itself."""
    step = steps.get("NormalizeImage")
    return None if step is None else {"mean": step["mean"], "std": step["std"], "is_scale": step.get("is_scale", True)}


def keypoint_export(cfg, where=INFER_CFG) -> dict:
    """What inference code needs of a keypoint model's infer_cfg dict: {"input_size": [w, h],
    "normalize" ({"mean", "std", "is_scale"}, None when fused), "decode" ({"codec",
    "udp_backproject", "pixel_std"}: ``DEFAULT_KEYPOINT_DECODE`` without an ``export:`` section)}.
    ValueError naming ``where`` when it is not a keypoint export."""
    if export_kind(cfg) != "keypoint":
        raise ValueError(f"{where}: no TopDownEvalAffine step in Preprocess; not a top-down keypoint model")
    try:
        size = input_size(cfg, "keypoint")
        decode = _decode_options({**DEFAULT_KEYPOINT_DECODE, **(cfg.get("export") or {}).get("decode", {})})
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    return {"input_size": size, "normalize": _normalize(preprocess_steps(cfg)), "decode": decode}


def read_keypoint_export(model_dir) -> dict:
    """``keypoint_export`` of an export folder's infer_cfg.yml."""
    return keypoint_export(load_infer_cfg(model_dir), Path(model_dir) / INFER_CFG)


def detector_export(cfg, where=INFER_CFG) -> dict:
    """What inference code needs of a detector's infer_cfg dict: this project's
    (``detector_infer_cfg``'s) or one of PaddleDetection's released PicoDet deployment models
    (same layout, no ``export:``).

    Returns {"input_size": [w, h], "interp", "normalize": {"mean", "std", "is_scale"} or None when
    fused (the network takes RGB 0..255), "nms": {score_threshold, nms_threshold, nms_top_k,
    keep_top_k}, "label_list", "draw_threshold", and from this project's ``export:`` section (None
    for a PaddleDetection folder, where the program's inputs tell): "nms_in_graph", "inputs",
    "outputs", "boxes" (which pixels the boxes are in)}.
    ValueError naming ``where`` when it is not a detector export.
    """
    from tasks.export.layout.detector_io import NMS_KEYS

    steps = preprocess_steps(cfg)
    resize = steps.get("Resize")
    if resize is None or resize.get("keep_ratio"):
        raise ValueError(f"{where}: Preprocess needs a Resize step with keep_ratio false, got {resize}; "
                         "not a detector export (export one with ExportInferenceModel on a PicoDet config)")
    height, width = (int(v) for v in resize["target_size"])
    missing = [key for key in NMS_KEYS if key not in cfg.get("NMS", {})]
    if missing:
        raise ValueError(f"{where}: NMS lacks {missing}")
    export = cfg.get("export") or {}
    return {
        "input_size": [width, height],
        "interp": int(resize.get("interp", 1)),
        "normalize": _normalize(steps),
        "nms": {key: cfg["NMS"][key] for key in NMS_KEYS},
        "label_list": list(cfg.get("label_list", ["person"])),
        "draw_threshold": float(cfg.get("draw_threshold", 0.5)),
        "nms_in_graph": export.get("nms"),
        "inputs": export.get("inputs"),
        "outputs": export.get("outputs"),
        "boxes": export.get("boxes"),
    }


def read_detector_export(model_dir) -> dict:
    """``detector_export`` of an export folder's infer_cfg.yml."""
    return detector_export(load_infer_cfg(model_dir), Path(model_dir) / INFER_CFG)

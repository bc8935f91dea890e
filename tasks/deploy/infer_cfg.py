"""infer_cfg.yml: what PaddleDetection's deploy code reads beside an exported model.

One writer per architecture, keyed like ``tasks.models.BUILDERS``; each returns the
dict for an input ``[w, h]``. Keys and preprocess steps follow PaddleDetection's
``ppdet/engine/export_utils.py`` (``_dump_infer_config``).

A detector's file also says which of its two forms the folder holds (``export:``), and
``read_detector_export(model_dir)`` reads it back for inference code.
"""
from pathlib import Path

import yaml

from tasks.transforms import IMAGENET_MEAN, IMAGENET_STD

INFER_CFG = "infer_cfg.yml"
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


def keypoint_infer_cfg(input_size, *, fuse_normalize=False, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                       draw_threshold=0.5):
    """Top-down keypoint model (TinyPose, PaddleDetection's TopDownHRNet): the layout
    deploy/python/keypoint_infer.py reads.

    TopDownEvalAffine's ``trainsize`` is [w, h]; with ``fuse_normalize`` the
    NormalizeImage step is left out because the network normalizes itself.
    """
    w, h = (int(v) for v in input_size)
    return {
        **_common_fields(draw_threshold, metric="KeyPointTopDownCOCOEval", arch="HRNet"),  # TopDownHRNet's name
        "Preprocess": _preprocess({"type": "TopDownEvalAffine", "trainsize": [w, h]}, fuse_normalize, mean, std),
        "label_list": ["keypoint"],
        "fuse_normalize": bool(fuse_normalize),
    }


def detector_infer_cfg(input_size, *, nms, with_nms=True, fpn_stride=(8, 16, 32, 64), fuse_normalize=False,
                       mean=IMAGENET_MEAN, std=IMAGENET_STD, draw_threshold=0.5, label_list=("pedestrian",)):
    """PicoDet-S pedestrian exported with its post-processing: the layout deploy/python/infer.py
    and deploy/lite read, plus ``export:`` (this project's key) naming the form of the folder.

    nms: the config's NMS numbers (``MultiClassNMS``); with_nms: whether they run in the graph
    (inputs image + scale_factor, outputs bbox + bbox_num) or in the caller (input image,
    outputs boxes + scores, PaddleDetection's order). Resize's ``target_size`` is [h, w], as PaddleDetection writes it.
    """
    from tasks.deploy.decoded_outputs import DECODED_OUTPUTS
    from tasks.deploy.detector_graph import DECODED_INPUTS, NMS_INPUTS, NMS_KEYS, NMS_OUTPUTS

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
            "architecture": "PicoDet",
            "nms": bool(with_nms),
            "inputs": list(NMS_INPUTS if with_nms else DECODED_INPUTS),
            "outputs": list(NMS_OUTPUTS if with_nms else DECODED_OUTPUTS),
            "boxes": "original image pixels" if with_nms else "network input pixels",
        },
    }


WRITERS = {
    "TinyPose": keypoint_infer_cfg,
    "PicoDet": detector_infer_cfg,
}


def build_infer_cfg(architecture, input_size, **options):
    """infer_cfg dict of ``architecture`` for an input ``[w, h]``; ``options`` go to its writer
    (fuse_normalize, mean, std)."""
    if architecture not in WRITERS:
        raise ValueError(f"no infer_cfg writer for architecture {architecture!r}; known: {sorted(WRITERS)}")
    return WRITERS[architecture](input_size, **options)


def read_detector_export(model_dir) -> dict:
    """What inference code needs of a detector export folder: this project's (``detector_infer_cfg``'s
    file) or one of PaddleDetection's released PicoDet deployment models (same layout, no ``export:``).

    Returns {"input_size": [w, h], "interp", "normalize": {"mean", "std", "is_scale"} or None when
    fused (the network takes RGB 0..255), "nms": {score_threshold, nms_threshold, nms_top_k,
    keep_top_k}, "label_list", "draw_threshold", and from this project's ``export:`` section (None
    for a PaddleDetection folder, where the program's inputs tell): "nms_in_graph", "inputs",
    "outputs", "boxes" (which pixels the boxes are in)}.
    ValueError naming the file when it is not a detector export.
    """
    from tasks.deploy.detector_graph import NMS_KEYS

    path = Path(model_dir) / INFER_CFG
    if not path.is_file():
        raise ValueError(f"{path} does not exist: {model_dir} is not an exported model folder")
    cfg = yaml.safe_load(path.read_text())
    steps = {step["type"]: step for step in cfg.get("Preprocess", [])} if isinstance(cfg, dict) else {}
    resize = steps.get("Resize")
    if resize is None or resize.get("keep_ratio"):
        raise ValueError(f"{path}: Preprocess needs a Resize step with keep_ratio false, got {resize}; "
                         "not a detector export (export one with ExportInferenceModel on a PicoDet config)")
    height, width = (int(v) for v in resize["target_size"])
    missing = [key for key in NMS_KEYS if key not in cfg.get("NMS", {})]
    if missing:
        raise ValueError(f"{path}: NMS lacks {missing}")
    normalize = steps.get("NormalizeImage")
    export = cfg.get("export") or {}
    return {
        "input_size": [width, height],
        "interp": int(resize.get("interp", 1)),
        "normalize": None if normalize is None else {"mean": normalize["mean"], "std": normalize["std"],
                                                     "is_scale": normalize.get("is_scale", True)},
        "nms": {key: cfg["NMS"][key] for key in NMS_KEYS},
        "label_list": list(cfg.get("label_list", ["person"])),
        "draw_threshold": float(cfg.get("draw_threshold", 0.5)),
        "nms_in_graph": export.get("nms"),
        "inputs": export.get("inputs"),
        "outputs": export.get("outputs"),
        "boxes": export.get("boxes"),
    }

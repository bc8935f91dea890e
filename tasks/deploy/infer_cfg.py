"""infer_cfg.yml: what PaddleDetection's deploy code reads beside an exported model.

One writer per architecture, keyed like ``tasks.models.BUILDERS``; each returns the
dict for an input ``[w, h]``. Keys and preprocess steps follow PaddleDetection's
``ppdet/engine/export_utils.py`` (``_dump_infer_config``).

PicoDet registers ``"PicoDet": detector_infer_cfg`` here: arch "PicoDet", metric
"COCO", Preprocess Resize (``target_size`` [h, w], ``keep_ratio`` false, interp 2),
NormalizeImage, Permute, its ``label_list`` and NMS settings.
"""
from tasks.keypoint.transforms.formatting import IMAGENET_MEAN, IMAGENET_STD


def keypoint_infer_cfg(input_size, *, fuse_normalize=False, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                       draw_threshold=0.5):
    """Top-down keypoint model (TinyPose, PaddleDetection's TopDownHRNet): the layout
    deploy/python/keypoint_infer.py reads.

    TopDownEvalAffine's ``trainsize`` is [w, h]; with ``fuse_normalize`` the
    NormalizeImage step is left out because the network normalizes itself.
    """
    w, h = (int(v) for v in input_size)
    preprocess = [{"type": "TopDownEvalAffine", "trainsize": [w, h]}]
    if not fuse_normalize:
        preprocess.append({"type": "NormalizeImage", "mean": list(mean), "std": list(std), "is_scale": True})
    preprocess.append({"type": "Permute"})
    return {
        "mode": "paddle",
        "draw_threshold": float(draw_threshold),
        "metric": "KeyPointTopDownCOCOEval",
        "use_dynamic_shape": False,
        "arch": "HRNet",          # PaddleDetection's name for TopDownHRNet in infer_cfg
        "min_subgraph_size": 3,   # TensorRT subgraph size PaddleDetection uses for it
        "Preprocess": preprocess,
        "label_list": ["keypoint"],
        "fuse_normalize": bool(fuse_normalize),
    }


WRITERS = {
    "TinyPose": keypoint_infer_cfg,
}


def build_infer_cfg(architecture, input_size, **options):
    """infer_cfg dict of ``architecture`` for an input ``[w, h]``; ``options`` go to its writer
    (fuse_normalize, mean, std)."""
    if architecture not in WRITERS:
        raise ValueError(f"no infer_cfg writer for architecture {architecture!r}; known: {sorted(WRITERS)}")
    return WRITERS[architecture](input_size, **options)

"""``KEYPOINT``: what every top-down heatmap architecture shares (TinyPose is one).

Training, evaluation and the crops come from ``tasks.keypoint``; the decoding a deployed model
uses is the config's codec and ``eval.udp_backproject``, written to infer_cfg.yml.
"""
from tasks.common.cocometrics import REPORTED_KEYPOINT_METRICS
from tasks.models.spec import ModelKind


def _train():
    from tasks.keypoint.train import train
    return train


def _evaluate():
    from tasks.keypoint.evaluate import evaluate
    return evaluate


def _infer_cfg(input_size, **options):
    from tasks.export.layout.infer_cfg import keypoint_infer_cfg
    return keypoint_infer_cfg(input_size, **options)


def decode_options(config) -> dict:
    """How ``config``'s heatmaps become image pixels: its codec, ``eval.udp_backproject``, ``data.pixel_std``."""
    return {"codec": config["codec"]["type"], "udp_backproject": config["eval"]["udp_backproject"],
            "pixel_std": config["data"]["pixel_std"]}


def _infer_cfg_options(config, network, nms, with_nms):
    return {} if config is None else {"decode": decode_options(config)}


def _export_graph(model, nms, with_nms):
    return model


def _export_inputs(input_size, with_nms):
    w, h = (int(v) for v in input_size)
    return {"image": [None, 3, h, w]}


def _rendered_inputs(input_size, normalize, with_nms):
    from tasks.export.rendered_persons import person_crops
    return [person_crops(input_size, normalize)]


def _val_inputs(config, val_ann, image_root, fuse_normalize, with_nms):
    from tasks.export.check_inputs import person_crops
    return [person_crops(config, val_ann, image_root, fuse_normalize=fuse_normalize)]


def _comparison(nms, with_nms):
    from tasks.export.compare import FP32_TOL
    return {"tol": FP32_TOL}


def _fp16_check(model, config):
    from tasks.export.lite import estimate_fp16_cost
    from tasks.keypoint.codecs import CODECS

    def check(arrays):
        images = arrays[0]
        heatmap_size = config["model"]["heatmap_size"]
        codec = CODECS.get(config["codec"]["type"]).for_decoding((images.shape[3], images.shape[2]), heatmap_size)
        return estimate_fp16_cost(model, images, codec=codec)
    return check


KEYPOINT = ModelKind(name="keypoint", train_function=_train, evaluate_function=_evaluate,
                     reported_metrics=REPORTED_KEYPOINT_METRICS, carries_nms=False, infer_cfg=_infer_cfg,
                     infer_cfg_options=_infer_cfg_options, export_graph=_export_graph, export_inputs=_export_inputs,
                     rendered_inputs=_rendered_inputs, val_inputs=_val_inputs, comparison=_comparison,
                     fp16_check=_fp16_check)

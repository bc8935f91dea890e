"""``DETECTOR``: what every person detector shares (PicoDet is one): exported with multiclass
NMS in the graph (inputs image + scale_factor, outputs bbox + bbox_num) or without it (input
image, outputs boxes + scores), ``tasks.export.detector_graph``.
"""
from tasks.models.spec import ModelKind

METRICS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR")


def _train():
    from tasks.detection.train import train
    return train


def _evaluate():
    from tasks.detection.evaluate import evaluate
    return evaluate


def _infer_cfg(input_size, **options):
    from tasks.export.layout.infer_cfg import detector_infer_cfg
    return detector_infer_cfg(input_size, **options)


def _infer_cfg_options(config, network, nms, with_nms):
    return {"nms": dict(nms), "with_nms": bool(with_nms), "fpn_stride": list(network().strides)}


def _export_graph(model, nms, with_nms):
    """NMS with the ``nms`` numbers in the graph, or the outputs in PaddleDetection's order."""
    from tasks.export.detector_graph import DetectorWithNMS, DetectorWithoutNMS
    return DetectorWithNMS(model, nms) if with_nms else DetectorWithoutNMS(model)


def _export_inputs(input_size, with_nms):
    from tasks.export.layout.detector_io import DECODED_INPUTS, NMS_INPUTS

    w, h = (int(v) for v in input_size)
    shapes = {"image": [None, 3, h, w], "scale_factor": [None, 2]}   # scale_factor: (y, x) input / original
    return {name: shapes[name] for name in (NMS_INPUTS if with_nms else DECODED_INPUTS)}


def _rendered_inputs(input_size, normalize, with_nms):
    from tasks.export.rendered_persons import detector_images
    images, scale_factor = detector_images(input_size, normalize)
    return [images, scale_factor] if with_nms else [images]


def _val_inputs(config, val_ann, image_root, fuse_normalize, with_nms):
    from tasks.export.check_inputs import detector_images
    images, scale_factor = detector_images(config, val_ann, image_root, fuse_normalize=fuse_normalize)
    return [images, scale_factor] if with_nms else [images]


def _comparison(nms, with_nms):
    """Per output (boxes in pixels), a box compared only where a detection can come from."""
    from tasks.export.detector_graph import output_tolerances
    return {"tol": output_tolerances(with_nms), "score_floor": nms["score_threshold"]}


def _fp16_check(model, config):
    from tasks.export.lite import estimate_fp16_detector_cost
    return lambda arrays: estimate_fp16_detector_cost(model, arrays[0], config["nms"]["score_threshold"])


DETECTOR = ModelKind(name="detector", train_function=_train, evaluate_function=_evaluate, reported_metrics=METRICS,
                     carries_nms=True, infer_cfg=_infer_cfg, infer_cfg_options=_infer_cfg_options,
                     export_graph=_export_graph, export_inputs=_export_inputs, rendered_inputs=_rendered_inputs,
                     val_inputs=_val_inputs, comparison=_comparison, fp16_check=_fp16_check)

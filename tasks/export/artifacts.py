"""The work behind each deploy node (pipeline/deploy_nodes.py), from a model config and paths.

    export_model(config, weights, out_dir, ...)               -> ExportInferenceModel
    export_checked_onnx(config, model_dir, onnx_path, ...)    -> ExportOnnx
    convert_checked_lite(config, weights, model_dir, nb, ...) -> ConvertLiteModel
    write_lite_files(models, manifest_path, readme_path, ...) -> ExportLiteModels

Each returns the JSON-able dict the node records in its manifest. ``config`` is a
loaded model config (``tasks.models.load_model_config``) of any architecture; its
``model.input_size`` ([w, h]) and ``data.mean``/``data.std`` describe the exported input,
and a detector's ``nms`` its NMS numbers. A detector export holds NMS in its graph unless
``with_nms`` is false (``tasks.export.detector_graph``).

``check_images``: where the inputs every artifact is checked on come from: {"val_ann",
"image_root"} of a COCO keypoint file with persons (``tasks.export.check_inputs``), or None for
the rendered persons of ``tasks.export.rendered_persons`` (no data set needed).
"""
import logging
from pathlib import Path

from tasks.common.atomic import write_json

log = logging.getLogger(__name__)


def _input_options(config):
    return {"mean": config["data"]["mean"], "std": config["data"]["std"]}


def _kind(config):
    from tasks.models import spec_of
    return spec_of(config).kind


def _comparison(config, with_nms):
    """How a converted file's outputs are compared with paddle.inference's (``ModelKind.comparison``)."""
    kind = _kind(config)
    return kind.comparison(config["nms"] if kind.carries_nms else None, kind.carries_nms and with_nms)


def export_model(config, weights, out_dir, *, check_images=None, fuse_normalize=False, with_nms=True):
    """``config``'s network with ``weights`` exported to ``out_dir`` (both programs, checked on
    the images every converted file is checked on)."""
    from tasks.export.inference_model import export_inference_model

    log.info("exporting %s to %s", config["name"], out_dir)
    nms = {"with_nms": with_nms} if _kind(config).carries_nms else {}
    return export_inference_model(config, out_dir, config["model"]["input_size"], weights=weights,
                                  fuse_normalize=fuse_normalize, **_input_options(config), **nms,
                                  check_inputs=check_inputs(config, check_images, fuse_normalize=fuse_normalize,
                                                            with_nms=with_nms))


def check_inputs(config, check_images=None, *, fuse_normalize=False, with_nms=True):
    """The inputs every converted file is checked on: the kind's val inputs from ``check_images``,
    or its rendered persons when it is None."""
    kind = _kind(config)
    with_nms = kind.carries_nms and with_nms
    if check_images is not None:
        return kind.val_inputs(config, check_images["val_ann"], check_images["image_root"], fuse_normalize, with_nms)
    return kind.rendered_inputs(config["model"]["input_size"], None if fuse_normalize else _input_options(config),
                                with_nms)


def export_checked_onnx(config, model_dir, onnx_path, *, check_images=None, fuse_normalize=False, with_nms=True):
    """paddle2onnx of the export in ``model_dir``, checked with onnxruntime against paddle.inference."""
    from tasks.export.onnx import check_onnx, export_onnx

    log.info("converting %s to ONNX: %s", model_dir, onnx_path)
    conversion = export_onnx(model_dir, onnx_path)
    check = check_onnx(onnx_path, model_dir,
                       check_inputs(config, check_images, fuse_normalize=fuse_normalize, with_nms=with_nms),
                       **_comparison(config, with_nms))
    log.info("ONNX check: max abs diff per output %s (tol %s)", check["max_abs_diffs"], check["tol"])
    return {"program": conversion["program"], "opset": conversion["opset"], "check": check}


def _fp16_check(config, weights, fuse_normalize):
    """The FP16 weight-rounding estimate of ``config``'s kind, on the dygraph model that takes the
    export's image input (a detector without its NMS)."""
    from tasks.export.inference_model import prepared_model

    model = prepared_model(config, weights, fuse_normalize=fuse_normalize, **_input_options(config))
    return _kind(config).fp16_check(model, config)


def convert_checked_lite(config, weights, model_dir, nb_path, precision, *, check_images=None,
                         fuse_normalize=False, with_nms=True, lite_python=None, nb_name=None):
    """``nb_path`` (ARM .nb, ``precision``) from the export in ``model_dir``, proven as
    ``tasks.export.lite.build_lite_model`` describes; the FP16 cost is measured on the dygraph
    model built from ``config`` and ``weights``. ``nb_name``: the file's published name, when
    ``nb_path`` is a staging name (default: its own name). ``lite_python``: the Lite
    environment's Python (default: ``tasks.runtime.lite_env.find_lite_python``'s)."""
    from tasks.export.lite import build_lite_model
    from tasks.runtime.lite_env import find_lite_python

    nb_path = Path(nb_path)
    fp16_check = _fp16_check(config, weights, fuse_normalize) if precision == "fp16" else None
    log.info("paddle_lite_opt %s -> %s (%s)", model_dir, nb_path, precision)
    info = build_lite_model(model_dir, nb_path, precision,
                            check_inputs(config, check_images, fuse_normalize=fuse_normalize, with_nms=with_nms),
                            lite_python=find_lite_python(lite_python or None), fp16_check=fp16_check,
                            **_comparison(config, with_nms))
    return {**info, "nb": nb_name or nb_path.name}


def write_lite_files(models, manifest_path, readme_path, bundle_dir, demo_image, onnx=()):
    """The app developer's view of the .nb files: ``manifest_path`` (JSON), ``readme_path``, and
    the mobile bundles of ``tasks.export.lite_bundle`` under ``bundle_dir`` (``demo_image`` in each).
    ``onnx``: the checked ONNX files to list beside them (``export_checked_onnx``' dicts plus
    "name" and "path"), in the manifest and the README.

    models: one dict per .nb file: {"name": export name, "architecture", "info": what
    ``convert_checked_lite`` returned, "model_dir": the export folder (its infer_cfg.yml is
    read), "nb_path": the file}.
    """
    from tasks.export.bundle_readme import render_deploy_readme
    from tasks.export.layout.infer_cfg import load_infer_cfg
    from tasks.export.lite_bundle import write_bundles

    entries = [{**m["info"], "name": m["name"], "infer_cfg": load_infer_cfg(m["model_dir"])} for m in models]
    bundles = write_bundles(models, bundle_dir, demo_image)
    write_json(manifest_path, {"models": entries, "bundles": bundles, **({"onnx": list(onnx)} if onnx else {})},
               indent=True)
    Path(readme_path).write_text(render_deploy_readme(entries, bundles, onnx))
    for entry in entries:
        log.info("%-40s %6.2f MB", entry["nb"], entry["size"] / 1e6)
    return {"files": [entry["nb"] for entry in entries], "bundles": [b["folder"] for b in bundles]}

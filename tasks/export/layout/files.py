"""The files of an export folder, and where the pipeline puts its ONNX file.

    model.json        PIR program: what paddle.inference.Config(dir, "model") opens on Paddle 3
    model.pdmodel     legacy program: what it opens with FLAGS_enable_pir_api=0, and what
                      paddle_lite_opt and paddle2onnx read
    model.pdiparams   the weights, shared by both programs
    infer_cfg.yml     preprocessing and metadata (``tasks.export.layout.infer_cfg``)
    model.onnx        optional: the ONNX file runtimes prefer (``onnx_file``)
    model_x86.nb      optional: Paddle-Lite's x86 build, for the Lite runtime on a PC
"""
from pathlib import Path

PARAMS_FILE = "model.pdiparams"
# What paddle.inference.Config(model_dir, "model") opens: model.json with the PIR API on
# (the default), model.pdmodel with FLAGS_enable_pir_api=0. Both read model.pdiparams.
PROGRAM_FILES = {"legacy": "model.pdmodel", "pir": "model.json"}
PARAMS_INFO_FILE = "model.pdiparams.info"   # parameter names, beside a legacy program
INFER_CFG = "infer_cfg.yml"
ONNX_FILE = "model.onnx"
LITE_X86_FILE = "model_x86.nb"   # Paddle-Lite's x86 build, what the Lite runtime opens on a PC
# the pipeline's folders under its data root: <root>/export/<name>/ and <root>/onnx/<name>.onnx
EXPORT_FOLDER, ONNX_FOLDER = "export", "onnx"


def program_file(model_dir, program="auto"):
    """The program file of an export folder: ``program`` "legacy", "pir", or "auto" (the legacy
    one when present: oneDNN runs every legacy program, while a PIR program with interpolation
    ops from other exporters needs oneDNN off). FileNotFoundError names what is missing."""
    model_dir = Path(model_dir)
    kinds = ("legacy", "pir") if program == "auto" else (program,)
    if any(kind not in PROGRAM_FILES for kind in kinds):
        raise ValueError(f"program must be 'auto' or one of {sorted(PROGRAM_FILES)}, got {program!r}")
    if not (model_dir / PARAMS_FILE).is_file():
        raise FileNotFoundError(f"{model_dir}: no {PARAMS_FILE}; not a Paddle inference export")
    for kind in kinds:
        if (model_dir / PROGRAM_FILES[kind]).is_file():
            return model_dir / PROGRAM_FILES[kind]
    raise FileNotFoundError(f"{model_dir}: no " + " or ".join(PROGRAM_FILES[k] for k in kinds)
                            + "; not a Paddle inference export")


def pipeline_onnx_path(root, name):
    """Where the pipeline's ExportOnnx writes the ONNX file of ``<root>/export/<name>``."""
    return Path(root) / ONNX_FOLDER / f"{name}.onnx"


def onnx_file(model_dir):
    """``model_dir/model.onnx``, else the pipeline's ONNX file for ``<root>/export/<name>``
    (``pipeline_onnx_path``) when it is newer than the export, else None."""
    model_dir = Path(model_dir)
    if (model_dir / ONNX_FILE).is_file():
        return model_dir / ONNX_FILE
    onnx = pipeline_onnx_path(model_dir.parent.parent, model_dir.name)
    if model_dir.parent.name != EXPORT_FOLDER or not onnx.is_file():
        return None
    return onnx if onnx.stat().st_mtime >= (model_dir / PARAMS_FILE).stat().st_mtime else None

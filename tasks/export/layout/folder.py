"""Is a folder an export this project can run, and of which model? ``check_export(path, kind)``.

An export folder (``ExportInferenceModel``'s, or a PaddleDetection deploy model) holds
``model.pdiparams``, ``model.json`` and/or ``model.pdmodel``, and ``infer_cfg.yml`` whose
Preprocess says what the model is: ``TopDownEvalAffine`` for a top-down keypoint model,
``Resize`` for a detector (PaddleDetection's PicoDet layout).
"""
from pathlib import Path

from tasks.export.layout.files import INFER_CFG, PARAMS_FILE, PROGRAM_FILES
from tasks.export.layout.infer_cfg import KIND_STEPS, export_kind, input_size, load_infer_cfg
from tasks.models.defaults import DEFAULT_CONFIG

WEIGHTS_SUFFIXES = (".pdparams", ".pdopt", ".pdema")


class ModelDirError(ValueError):
    """The model folder is missing or is not an exported inference model of the expected kind."""


def _hint(kind):
    return (f"make one with `luigi --module pipeline.tasks ExportInferenceModel --config {DEFAULT_CONFIG[kind]}` "
            "(it writes <data_root>/export/<name>/)")


def _weights_hint(path, kind):
    """What to do with a training weights file given where an export folder belongs."""
    config = DEFAULT_CONFIG[kind]
    return (f"{kind} model {path} is a weights file, not an exported model: export it first, e.g. "
            f"`luigi --module pipeline.tasks ExportInferenceModel --config {config} --weights {path.resolve()}` "
            f"(writes <data_root>/export/{Path(config).stem}_{path.stem}/, the folder to pass), or "
            f"`tinypose-bundle` for both models at once")


def check_export(model_dir, kind="keypoint"):
    """``model_dir`` as a Path when it is an export of a ``kind`` ("keypoint" or "detector")
    model; else ModelDirError naming the folder, what is missing or wrong, and how to make one."""
    model_dir = Path(model_dir)
    if model_dir.is_file() and model_dir.suffix.lower() in WEIGHTS_SUFFIXES:
        raise ModelDirError(_weights_hint(model_dir, kind))
    if model_dir.is_file():
        raise ModelDirError(f"{kind} model {model_dir} is a file; pass the export folder that holds it "
                            f"({model_dir.parent}?); {_hint(kind)}")
    if not model_dir.is_dir():
        raise ModelDirError(f"{kind} model folder {model_dir} does not exist; {_hint(kind)}")
    missing = [name for name in (PARAMS_FILE, INFER_CFG) if not (model_dir / name).is_file()]
    if not any((model_dir / name).is_file() for name in PROGRAM_FILES.values()):
        missing.append(" or ".join(PROGRAM_FILES.values()))
    if missing:
        raise ModelDirError(f"{kind} model folder {model_dir} lacks {', '.join(missing)}: not an exported "
                            f"inference model; {_hint(kind)}")
    try:
        cfg = load_infer_cfg(model_dir)
    except ValueError as exc:
        raise ModelDirError(f"{exc}; not an exported inference model; {_hint(kind)}") from None
    steps = [step["type"] for step in cfg["Preprocess"]]
    if export_kind(cfg) != kind:
        raise ModelDirError(f"{model_dir} is not a {kind} model: its infer_cfg.yml Preprocess is {steps} "
                            f"(arch {cfg.get('arch')!r}), a {kind} export has a {KIND_STEPS[kind][0]} step; "
                            f"{_hint(kind)}")
    try:
        input_size(cfg, kind)
    except ValueError as exc:
        raise ModelDirError(f"{model_dir / INFER_CFG}: {exc}") from None
    return model_dir

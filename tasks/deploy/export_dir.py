"""Is a folder an export this project can run, and of which model? ``check_export(path, kind)``.

An export folder (``ExportInferenceModel``'s, or a PaddleDetection deploy model) holds
``model.pdiparams``, ``model.json`` and/or ``model.pdmodel``, and ``infer_cfg.yml`` whose
Preprocess says what the model is: ``TopDownEvalAffine`` for a top-down keypoint model,
``Resize`` for a detector (PaddleDetection's PicoDet layout).
"""
from pathlib import Path

import yaml

from tasks.deploy.runtimes import PARAMS_FILE, PROGRAM_FILES

KINDS = {
    "keypoint": ("TopDownEvalAffine", "configs/tinypose_128x96.yml"),
    "detector": ("Resize", "configs/picodet_s_192_pedestrian.yml"),
}
# the Preprocess step's key that gives the input size, as PaddleDetection writes it
SIZE_KEYS = {"TopDownEvalAffine": "trainsize", "Resize": "target_size"}
WEIGHTS_SUFFIXES = (".pdparams", ".pdopt", ".pdema")


class ModelDirError(ValueError):
    """The model folder is missing or is not an exported inference model of the expected kind."""


def _hint(kind):
    return (f"make one with `luigi --module pipeline.tasks ExportInferenceModel --config {KINDS[kind][1]}` "
            "(it writes <data_root>/export/<name>/)")


def _weights_hint(path, kind):
    """What to do with a training weights file given where an export folder belongs."""
    config = KINDS[kind][1]
    return (f"{kind} model {path} is a weights file, not an exported model: export it first, e.g. "
            f"`luigi --module pipeline.tasks ExportInferenceModel --config {config} --weights {path.resolve()}` "
            f"(writes <data_root>/export/{Path(config).stem}_{path.stem}/, the folder to pass), or "
            f"`tinypose-bundle` for both models at once")


def _check_size(model_dir, steps, expected):
    """The ``expected`` step's input size: two positive integers, else ModelDirError."""
    step = next(s for s in steps if s.get("type") == expected)
    size = step.get(SIZE_KEYS[expected])
    if not (isinstance(size, list) and len(size) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)):
        raise ModelDirError(f"{model_dir / 'infer_cfg.yml'}: its {expected} step needs {SIZE_KEYS[expected]}: "
                            f"two positive integers, got {size!r}")


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
    missing = [name for name in (PARAMS_FILE, "infer_cfg.yml") if not (model_dir / name).is_file()]
    if not any((model_dir / name).is_file() for name in PROGRAM_FILES.values()):
        missing.append(" or ".join(PROGRAM_FILES.values()))
    if missing:
        raise ModelDirError(f"{kind} model folder {model_dir} lacks {', '.join(missing)}: not an exported "
                            f"inference model; {_hint(kind)}")
    try:
        cfg = yaml.safe_load((model_dir / "infer_cfg.yml").read_text())
        steps = [step["type"] for step in cfg["Preprocess"]]
    except (OSError, UnicodeDecodeError, yaml.YAMLError, TypeError, KeyError) as exc:
        raise ModelDirError(f"{model_dir / 'infer_cfg.yml'}: no readable Preprocess list ({exc!r}); "
                            f"not an exported inference model; {_hint(kind)}") from None
    expected = KINDS[kind][0]
    if expected not in steps:
        raise ModelDirError(f"{model_dir} is not a {kind} model: its infer_cfg.yml Preprocess is {steps} "
                            f"(arch {cfg.get('arch')!r}), a {kind} export has a {expected} step; {_hint(kind)}")
    _check_size(model_dir, cfg["Preprocess"], expected)
    return model_dir

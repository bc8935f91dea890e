"""The numbers the DAG already writes, found in the data root and linked in one place.

Each kind of file is looked for by its name pattern; a kind with no file yet is listed as
"not built yet" with the command that builds it. `optional_inputs` is every file the report
reads without owning the node that writes it (what BuildReport's signature covers).
"""
from pathlib import Path

import orjson

__all__ = ["ARTIFACTS", "collect_artifacts", "optional_inputs", "keypoint_results"]

#: (label, glob under the data root, how it is shown, the command that builds it).
ARTIFACTS = (
    ("Merge reports", "annotations/*_merge_report*.json", "merge",
     "luigi --module pipeline.tasks BuildMergedAnnotations"),
    ("Conversion reports (AI Challenger)", "annotations/aic_*_conversion_report*.json", "conversion",
     "luigi --module pipeline.tasks ConvertAIChallenger"),
    ("Image checks", "annotations/*_image_report.json", "image_check",
     "the image-check node before training (runs with the training nodes)"),
    ("Dataset statistics", "annotations/*_stats.png", "image",
     "luigi --module pipeline.tasks BuildMergedAnnotations"),
    ("Training curves", "models/*/curves.png", "image",
     "luigi --module pipeline.tasks TrainTinyPose (or TrainDetector) --config configs/<model>.yml"),
    ("Model metrics (COCO val2017)", "models/*/eval/metrics.json", "metrics",
     "luigi --module pipeline.tasks EvaluateTinyPose (or EvaluateDetector) --config configs/<model>.yml"),
    ("Pipeline tables (detector + TinyPose)", "pipeline/*/pipeline_table.md", "text",
     "luigi --module pipeline.tasks EvaluatePipeline"),
    ("Paddle-Lite manifest", "lite/manifest.json", "lite", "luigi --module pipeline.tasks ExportLiteModels"),
)

#: Keypoint results the error analysis reads: (glob, boxes they were predicted in, subset).
KEYPOINT_RESULTS = (("models/*/eval/keypoints_results.json", "ground-truth boxes", None),
                    ("pipeline/*/keypoints_multi.json", "detector boxes", "multi"))

METRIC_KEYS = ("AP", "AP50", "AP75", "APm", "APl", "AR")


def optional_inputs(data_root) -> list:
    """The files the report reads beyond its required nodes' outputs, sorted."""
    root = Path(data_root)
    patterns = [pattern for _, pattern, _, _ in ARTIFACTS] + [pattern for pattern, _, _ in KEYPOINT_RESULTS]
    return sorted({path for pattern in patterns for path in root.glob(pattern) if path.is_file()})


def keypoint_results(data_root) -> list:
    """[(name, results path, boxes, subset)] of every keypoint evaluation in the data root."""
    root, found = Path(data_root), []
    for pattern, boxes, subset in KEYPOINT_RESULTS:
        for path in sorted(root.glob(pattern)):
            owner = path.parent.parent if path.parent.name == "eval" else path.parent
            found.append((f"{owner.name} ({boxes})", path, boxes, subset))
    return found


def collect_artifacts(data_root) -> list:
    """[{"label", "files": [{"path", "href", "show", "summary"}], "missing": command or None}]."""
    root, sections = Path(data_root), []
    for label, pattern, show, command in ARTIFACTS:
        files = [{"path": str(path.relative_to(root)), "href": f"../{path.relative_to(root).as_posix()}",
                  "show": show, "summary": _summary(path, show)}
                 for path in sorted(root.glob(pattern)) if path.is_file()]
        sections.append({"label": label, "files": files, "missing": None if files else command})
    return sections


def _summary(path: Path, show: str):
    """A few numbers (or the text) of an artifact, to show beside its link."""
    if show == "image":
        return None
    if show == "text":
        return path.read_text(errors="replace")[:4000]
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        return {"error": f"not valid JSON: {error}"}
    return _SUMMARIES[show](data) if isinstance(data, dict) else {"error": "not a JSON object"}


def _merge(report):
    return {"images": report.get("images"), "annotations": report.get("annotations"),
            "rejected": len(report.get("rejections") or [])}


def _conversion(report):
    keys = ("input_images", "kept_images", "rejected_images", "input_humans", "kept_humans", "rejected_humans")
    return {key: report.get(key) for key in keys}


def _image_check(report):
    return {key: report.get(key) for key in ("checked", "kept", "rejected", "rejected_annotations")}


def _metrics(metrics):
    return {key: round(metrics[key], 4) for key in METRIC_KEYS if isinstance(metrics.get(key), (int, float))}


def _lite(manifest):
    models = manifest.get("models") if isinstance(manifest.get("models"), list) else []
    return {str(model.get("nb")): f"{model.get('size', 0) / 1e6:.2f} MB" for model in models
            if isinstance(model, dict)}


_SUMMARIES = {"merge": _merge, "conversion": _conversion, "image_check": _image_check, "metrics": _metrics,
              "lite": _lite}

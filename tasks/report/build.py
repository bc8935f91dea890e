"""Build the report of a data root: collect each section, render the thumbnails, write the site.

    build_report(data_root, out, inputs, per_page=24, pages=3, per_reason=12)

`out`: "index" (index.html), "pages" (the scripts and data), "thumbs" (the JPEGs),
"analysis" (error_analysis.json); `inputs`: the annotation files of the required nodes
(below). Everything else (reports, model results) is found in the data root
(tasks.report.artifacts).
"""
import re
from pathlib import Path

from tasks.annotations.validate import gc_paused, load_json
from tasks.common.atomic import write_json
from tasks.report.artifacts import collect_artifacts, keypoint_results
from tasks.report.browse import browse_source, records_by_id
from tasks.report.error_analysis import analyse
from tasks.report.images import ImageFolders
from tasks.report.page import write_site
from tasks.report.rejections import RecordIndex, conversion_tiles, image_check_tiles, merge_tiles, reason_groups
from tasks.report.thumbnails import Thumbnails

__all__ = ["build_report", "ERROR_HELP"]

ERROR_HELP = ("Per joint: AP with OKS restricted to that joint (pycocotools), and each labeled joint of a "
              "matched prediction as good (ks >= 0.85), jitter (0.5-0.85), inversion (ks >= 0.5 to the "
              "opposite-side joint of the same person), swap (ks >= 0.5 to the same joint of another "
              "person) or miss (Ronchi & Perona, ICCV 2017). Thumbnails: predicted skeleton, ground-truth "
              "joint green, predicted joint red.")
ERROR_COMMAND = "luigi --module pipeline.tasks EvaluateTinyPose (then EvaluatePipeline for detector boxes)"
CONVERSION_REPORT = re.compile(r"aic_(?P<split>[a-z]+)_conversion_report.*\.json")


def build_report(data_root, out: dict, inputs: dict, *, per_page=24, pages=3, per_reason=12,
                 previous_thumbs=None, title="Data report", progress=print) -> dict:
    """inputs: "coco_train", "coco_val" (COCO annotation files), "aic" ({split: (converted
    file, image folder name under the data root)}), "aic_raw" ({split: raw AIC file} for the
    splits extracted). Returns counts for the manifest."""
    data_root = Path(data_root)
    folders = ImageFolders(data_root)
    thumbnails, documents = Thumbnails(folders), _Documents()
    with gc_paused():
        progress("dataset browser")
        browse = _browse(inputs, documents, thumbnails, folders, per_page, pages)
        progress("rejections")
        rejections = _rejections(data_root, inputs, documents, thumbnails, folders, per_reason)
        progress("error analysis")
        models = _models(data_root, documents.get(inputs["coco_val"]), thumbnails, folders, per_reason)
    documents.clear()
    progress(f"{len(thumbnails.specs)} thumbnails")
    counts = thumbnails.render(out["thumbs"], previous_thumbs,
                               on_progress=lambda done, total: progress(f"thumbnails {done}/{total}"))
    site = {"title": title, "per_page": per_page, "browse": browse, "rejections": rejections,
            "artifacts": collect_artifacts(data_root), "models": models, "error_help": ERROR_HELP,
            "error_command": ERROR_COMMAND}
    data_files = write_site(site, out["index"], out["pages"])
    write_json(out["analysis"], {"models": [{k: v for k, v in model.items() if k not in ("worst", "href")}
                                            | {"worst": model["worst_cases"]} for model in models]}, indent=True)
    return {**counts, "thumbnails": len(thumbnails.specs), "data_files": data_files}


class _Documents:
    """Annotation files loaded once per build."""

    def __init__(self):
        self.loaded = {}

    def get(self, path):
        key = str(path)
        if key not in self.loaded:
            self.loaded[key] = load_json(path)
        return self.loaded[key]

    def clear(self):
        self.loaded.clear()


def _browse(inputs, documents, thumbnails, folders, per_page, pages):
    kwargs = {"per_page": per_page, "pages": pages}
    sources = [browse_source(documents.get(inputs["coco_train"]), "COCO train2017", "coco_train", thumbnails,
                             folders, prefix="coco/train2017/", **kwargs),
               browse_source(documents.get(inputs["coco_val"]), "COCO val2017", "coco_val", thumbnails, folders,
                             prefix="coco/val2017/", **kwargs)]
    for split, (converted, _) in inputs["aic"].items():
        raw = inputs["aic_raw"].get(split)
        sources.append(browse_source(documents.get(converted), f"AI Challenger {split}", f"aic_{split}", thumbnails,
                                     folders, raw_aic=records_by_id(documents.get(raw)) if raw else {}, **kwargs))
    return sources


def _rejections(data_root, inputs, documents, thumbnails, folders, per_reason):
    groups = []
    for path in sorted((data_root / "annotations").glob("aic_*_conversion_report*.json")):
        report = load_json(path)
        split = CONVERSION_REPORT.fullmatch(path.name)["split"]
        raw = inputs["aic_raw"].get(split)
        records = records_by_id(documents.get(raw), keep_last=True) if raw else None
        prefix = inputs["aic"].get(split, (None, f"aic/{split}"))[1]
        entries = [(entry[2], entry) for entry in report.get("rejections", [])]
        groups.append(_group(data_root, path, "conversion", entries, per_reason,
                             lambda chosen: conversion_tiles(chosen, records, prefix, thumbnails, folders)))
    for path in sorted((data_root / "annotations").glob("*_merge_report*.json")):
        report = load_json(path)
        indexes = {source.get("name"): _merge_source(data_root, inputs, documents, source)
                   for source in report.get("sources", [])}
        entries = [(f"{entry[0]} {entry[1]}: {entry[3]}", entry) for entry in report.get("rejections", [])]
        groups.append(_group(data_root, path, "merge", entries, per_reason,
                             lambda chosen: [tile for entry in chosen for tile in
                                             merge_tiles([entry], indexes.get(entry[0]), thumbnails, folders)]))
    for path in sorted((data_root / "annotations").glob("*_image_report.json")):
        report = load_json(path)
        entries = [(entry.get("reason") if isinstance(entry, dict) else None, entry)
                   for entry in report.get("rejections", [])]
        groups.append(_group(data_root, path, "image check", entries, per_reason,
                             lambda chosen: image_check_tiles(chosen, thumbnails, folders)))
    return groups


def _merge_source(data_root, inputs, documents, source):
    """The RecordIndex of one merge input, or None when its file is gone."""
    if source.get("name") == "coco":
        return RecordIndex(documents.get(inputs["coco_train"]), "coco/train2017/")
    path = data_root / "annotations" / Path(str(source.get("file"))).name
    return RecordIndex(documents.get(path)) if path.is_file() else None


def _group(data_root, path, stage, entries, per_reason, tiles):
    reasons = [{"reason": reason, "count": count, "shown": len(chosen), "items": tiles(chosen)}
               for reason, count, chosen in reason_groups(entries, per_reason)]
    relative = path.relative_to(data_root).as_posix()
    return {"report": relative, "href": f"../{relative}", "stage": stage, "total": len(entries),
            "reasons": reasons}


def _models(data_root, val_doc, thumbnails, folders, per_reason):
    val_index = RecordIndex(val_doc, "coco/val2017/")
    models = []
    for name, path, boxes, subset in keypoint_results(data_root):
        image_ids = _subset_images(val_doc, subset)
        analysis = analyse(val_doc, load_json(path), image_ids, worst=per_reason)
        relative = path.relative_to(data_root).as_posix()
        worst = {kind: [_error_tile(case, val_index, thumbnails, folders) for case in cases]
                 for kind, cases in analysis["worst"].items()}
        models.append({"name": name, "results": relative, "href": f"../{relative}", "boxes": boxes,
                       **{k: v for k, v in analysis.items() if k != "worst"},
                       "worst_cases": analysis["worst"], "worst": worst})
    return models


def _subset_images(val_doc, subset):
    if subset is None:
        return None
    from tasks.evaluation.joint_pipeline import SUBSETS, person_counts
    low, high = SUBSETS[subset]
    return [image_id for image_id, n in person_counts(val_doc).items() if low <= n <= high]


def _error_tile(case, val_index, thumbnails, folders):
    located, why = folders.locate(val_index.file_name(val_index.image(case["image_id"])))
    x, y, w, h = case["box"] if case.get("box") else (0, 0, 0, 0)
    margin = 0.25 * max(w, h)
    spec = {"kind": "error", "image": located, "why": why, "crop": [x - margin, y - margin, x + w + margin,
            y + h + margin], "prediction": case["prediction"], "truth_xy": case["truth_xy"],
            "predicted_xy": case["predicted_xy"]}
    return {"thumb": thumbnails.add(spec), "title": f"{case['joint']} {case['type']} ks={case['ks']}",
            "caption": f"{case['joint']} · ks {case['ks']:.2f} · image {case['image_id']}"}

"""Keypoint AP of detector + TinyPose on COCO val2017, PP-TinyPose's "Pipeline" table.

PaddleDetection's protocol for that table (configs/keypoint/tiny_pose/README.md): the
keypoints are predicted in the detector's boxes (box score threshold 0.5), without flip;
"single person" is scored on the images with exactly one annotated person, "multi person"
on the images with at most 6 (images with more than 6 are left out, "6人以上（不含6人）").
A person here is a non-crowd person annotation of the file; images without one are in
neither subset. Scoring is the project's COCO keypoint protocol (tasks.keypoint.cocoeval:
rescoring, OKS-NMS, pycocotools' OKS AP) on the subset's images only. The time per image is
the pipeline's (detector, crop, TinyPose, post-processing; decoding the JPEG excluded).

    evaluate_pipeline(det_dir, keypoint_dir, val_ann, image_root, out_dir)
        -> out_dir/metrics.json, pipeline_table.md, keypoints_<subset>.json
"""
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from tasks.app.media import Frame, read_image
from tasks.common.atomic import write_json
from tasks.common.coco import PERSON_ID
from tasks.common.cocometrics import REPORTED_KEYPOINT_METRICS
from tasks.common.paths import confined_image_path
from tasks.keypoint.cocoeval import oks_eval, person_results
from tasks.keypoint.geometry import PIXEL_STD, boxes_to_centers_scales

DET_THRESHOLD = 0.5
MAX_PERSONS = 6
SUBSETS = {"single": (1, 1), "multi": (1, MAX_PERSONS)}  # persons per image, inclusive


def person_counts(coco):
    """{image id: number of non-crowd person annotations} for every image of the file."""
    counts = Counter(a["image_id"] for a in coco["annotations"]
                     if a.get("category_id", PERSON_ID) == PERSON_ID and not a.get("iscrowd", 0))
    return {image["id"]: counts.get(image["id"], 0) for image in coco["images"]}


def subset_file(coco, image_ids, path):
    """The annotation file restricted to ``image_ids``, written to ``path``."""
    keep = set(image_ids)
    write_json(path, {**coco, "images": [i for i in coco["images"] if i["id"] in keep],
                      "annotations": [a for a in coco["annotations"] if a["image_id"] in keep]})
    return path


def markdown_table(metrics, det_name, keypoint_name, threads):
    config = f"{det_name} + {keypoint_name}"
    rows = [f"| single-person configuration | AP (COCO val, single person) | time per image (FP32, CPU, "
            f"{threads} threads) |", "| :-- | :--: | :--: |",
            f"| {config} | {100 * metrics['single']['AP']:.1f} | {metrics['single']['ms_per_image']:.2f} ms |", "",
            f"| multi-person configuration | AP (COCO val, <= {MAX_PERSONS} persons) | time per image (FP32, CPU, "
            f"{threads} threads) |", "| :-- | :--: | :--: |",
            f"| {config} | {100 * metrics['multi']['AP']:.1f} | {metrics['multi']['ms_per_image']:.2f} ms |"]
    return "\n".join(rows) + "\n"


def evaluate_pipeline(det_dir, keypoint_dir, val_ann, image_root, out_dir, *, det_threshold=DET_THRESHOLD,
                      backend="auto", threads=2, names=None):
    """Score the two exports on the subsets of ``val_ann`` (module docstring); returns the metrics dict."""
    from tasks.app.joint import DetectorBoxes, JointPipeline
    from tasks.runtime.detector_predictor import DetectorPredictor
    from tasks.runtime.keypoint_predictor import KeypointPredictor

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    coco = json.loads(Path(val_ann).read_text())
    counts = person_counts(coco)
    wanted = {image_id for image_id, n in counts.items() if SUBSETS["multi"][0] <= n <= SUBSETS["multi"][1]}
    if not wanted:
        raise ValueError(f"{val_ann}: no image with 1 to {MAX_PERSONS} persons to evaluate on")
    paths = {image["id"]: confined_image_path(image_root, image["file_name"], ann_file=val_ann, image_id=image["id"])
             for image in coco["images"] if image["id"] in wanted}  # an unsafe name fails before any model loads
    keypoints = KeypointPredictor(keypoint_dir, backend=backend, threads=threads)
    detector = DetectorPredictor(det_dir, backend=backend, threads=threads)
    pipeline = JointPipeline(keypoints, DetectorBoxes(detector, det_threshold), box_thr=det_threshold)
    per_image, seconds = {}, {}
    for image in coco["images"]:
        if image["id"] not in wanted:
            continue
        frame = Frame(0, image["file_name"], read_image(paths[image["id"]]))
        start = time.perf_counter()
        boxes, kpts, _ = pipeline(frame)
        seconds[image["id"]] = time.perf_counter() - start
        per_image[image["id"]] = (boxes, kpts)
    metrics = {"det_threshold": det_threshold, "flip": False, "backend": {"detector": detector.backend,
               "keypoint": keypoints.backend}, "threads": threads, "val_ann": str(val_ann)}
    for subset, (low, high) in SUBSETS.items():
        ids = sorted(i for i in wanted if low <= counts[i] <= high)
        image_ids, all_kpts, areas, scores = [], [], [], []
        for image_id in ids:
            boxes, kpts = per_image[image_id]
            if len(boxes):
                _, scales = boxes_to_centers_scales(boxes[:, :4], keypoints.input_size)
                image_ids += [image_id] * len(boxes)
                all_kpts.append(kpts)
                areas.append(np.prod(scales * PIXEL_STD, axis=1))  # PaddleDetection's OKS-NMS area
                scores.append(boxes[:, 4])
        results = person_results(image_ids, np.concatenate(all_kpts), np.concatenate(areas),
                                 np.concatenate(scores)) if image_ids else []
        write_json(out_dir / f"keypoints_{subset}.json", results)
        with tempfile.TemporaryDirectory() as tmp:
            scored = oks_eval(subset_file(coco, ids, Path(tmp) / "gt.json"), results) if results else \
                {name: 0.0 for name in REPORTED_KEYPOINT_METRICS}
        metrics[subset] = {**{name: round(scored[name], 4) for name in REPORTED_KEYPOINT_METRICS}, "images": len(ids),
                           "persons": sum(counts[i] for i in ids), "detections": len(image_ids),
                           "ms_per_image": round(1000 * float(np.mean([seconds[i] for i in ids])), 3) if ids else 0}
    det_name, keypoint_name = names or (Path(det_dir).name, Path(keypoint_dir).name)
    write_json(out_dir / "metrics.json", metrics, indent=True)
    (out_dir / "pipeline_table.md").write_text(markdown_table(metrics, det_name, keypoint_name, threads))
    return metrics

"""Evaluate PicoDet-S pedestrian: COCO bbox AP of the person category (pycocotools).

PaddleDetection's protocol for its pedestrian PicoDet (COCO val2017 persons): every val
image through the eval transforms (resize to `model.input_size`, ratio not kept), the
decoded boxes divided by the image's scale factor (back to original pixels, not clipped),
multiclass NMS with the config's `nms` numbers, results as COCO `[x, y, w, h]` with
w = x2 - x1, then COCOeval(iouType='bbox') on the person category. Crowd ground truth is
pycocotools' business (`iscrowd`: a detection on a crowd region is neither a hit nor a
false positive); images without persons stay in, so their detections count as false positives.

    python -m tasks.detection.evaluate --config configs/picodet_s_192_pedestrian.yml \
        --weights <model_dir>/model_final.pdparams \
        --val-ann <data_root>/coco/annotations/person_keypoints_val2017.json \
        --image-root <data_root>/coco/val2017 --out <model_dir>/eval

`out_dir` receives metrics.json, bbox_results.json (COCO results) and vis/*.jpg (predicted
boxes scoring at least `DISPLAY_THRESHOLD` in red with their score, ground truth in green).
"""
import argparse
import contextlib
import io
from pathlib import Path

import cv2
import numpy as np
import paddle
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from tasks.common.atomic import atomic_path, write_json
from tasks.common.coco import PERSON_ID
from tasks.common.cocometrics import evaluate_and_summarize
from tasks.common.config import add_overrides_argument, config_from_args
from tasks.common.logs import progress_bar
from tasks.common.weights import load_state
from tasks.detection.config import load_config
from tasks.detection.dataset import build_detection_loader
from tasks.detection.nms import multiclass_nms
from tasks.models.registry import build_model

__all__ = ["evaluate", "score_model", "detect", "bbox_results", "bbox_eval", "STAT_NAMES"]

# COCOeval(iouType='bbox').stats in order; "AR" is AR@100 (maxDets 100), as COCO reports it.
STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR", "ARs", "ARm", "ARl")
DISPLAY_THRESHOLD = 0.5
PREDICTION_COLOR, GT_COLOR = (0, 0, 255), (0, 200, 0)   # BGR: red, green


def detect(config, model, loader, progress=True) -> dict:
    """{image_id: [K, 6] float32 rows (class, score, x1, y1, x2, y2) in original image pixels}
    for every image of `loader` (the eval loader of tasks.detection.dataset)."""
    nms = config["nms"]
    detections = {}
    model.eval()
    with paddle.no_grad():
        for batch in progress_bar(loader, desc="evaluate", unit="batch", enabled=progress):
            scores, boxes = model(batch["image"])
            scale_y, scale_x = batch["scale_factor"].numpy().T
            boxes = boxes.numpy() / np.stack([scale_x, scale_y, scale_x, scale_y], axis=1)[:, None, :]
            for image_id, image_scores, image_boxes in zip(batch["im_id"].numpy().ravel(), scores.numpy(), boxes):
                detections[int(image_id)] = multiclass_nms(
                    image_boxes, image_scores, score_threshold=nms["score_threshold"],
                    nms_threshold=nms["nms_threshold"], nms_top_k=nms["nms_top_k"], keep_top_k=nms["keep_top_k"])
    return detections


def bbox_results(detections: dict) -> list:
    """COCO results [{image_id, category_id, bbox [x, y, w, h], score}] of `detect`'s output
    (class 0 is the person category, the only one)."""
    results = []
    for image_id, rows in detections.items():
        for label, score, x1, y1, x2, y2 in rows.tolist():
            if int(label) != 0:
                raise ValueError(f"image {image_id}: detection of class {int(label)}; the detector has one class")
            results.append({"image_id": image_id, "category_id": PERSON_ID,
                            "bbox": [round(x1, 3), round(y1, 3), round(x2 - x1, 3), round(y2 - y1, 3)],
                            "score": round(score, 5)})
    return results


def bbox_eval(gt_json, results) -> dict:
    """COCOeval(iouType='bbox') of `results` on the person category of `gt_json`.

    Returns the floats of `STAT_NAMES` (-1 where the file has no person of that size) and
    "summary" (COCOeval's printed table). No result at all scores 0 (pycocotools' loadRes
    refuses an empty list, so the detections are then an empty COCO set)."""
    with contextlib.redirect_stdout(io.StringIO()):   # pycocotools prints while loading
        coco_gt = COCO(str(Path(gt_json)))
        if results:
            coco_dt = coco_gt.loadRes(list(results))
        else:
            coco_dt = COCO()
            coco_dt.dataset = {"images": coco_gt.dataset["images"], "annotations": [],
                               "categories": coco_gt.dataset["categories"]}
            coco_dt.createIndex()
    evaluator = COCOeval(coco_gt, coco_dt, iouType="bbox")
    evaluator.params.catIds = [PERSON_ID]
    return evaluate_and_summarize(evaluator, STAT_NAMES)


def draw_boxes(image_bgr, gt_boxes, detections, display_threshold=DISPLAY_THRESHOLD):
    """A copy of `image_bgr` with GT boxes [n, 4] x1y1x2y2 in green and the detections
    (rows of `detect`) scoring at least `display_threshold` in red, score above the box."""
    canvas = np.ascontiguousarray(image_bgr).copy()
    thickness = max(1, round(min(canvas.shape[:2]) / 250))
    for box in np.asarray(gt_boxes).reshape(-1, 4):
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), GT_COLOR, thickness)
    for _, score, *box in detections[detections[:, 1] >= display_threshold].tolist():
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), PREDICTION_COLOR, thickness)
        cv2.putText(canvas, f"{score:.2f}", (x1, max(y1 - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    PREDICTION_COLOR, 1, cv2.LINE_AA)
    return canvas


def draw_results(detections: dict, dataset, vis_dir: Path, num_vis: int) -> list:
    """Draw the first `num_vis` images of `dataset` (file order) that have persons; JPEG paths."""
    written = []
    for index in range(len(dataset.records)):
        if len(written) == num_vis:
            break
        record = dataset.records[index]
        if len(record["gt_bbox"]) == 0:
            continue
        image = cv2.imread(str(record["image_file"]), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f"cannot read image {record['image_file']} (image id {record['image_id']})")
        canvas = draw_boxes(image, record["gt_bbox"], detections.get(int(record["image_id"]), np.zeros((0, 6))))
        path = vis_dir / f"{record['image_id']}.jpg"
        ok, data = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            raise RuntimeError(f"cannot encode the drawing of image {record['image_id']} ({record['image_file']})")
        with atomic_path(path) as tmp:
            Path(tmp).write_bytes(data.tobytes())
        written.append(path)
    return written


def score_model(config: dict, model, loader, val_ann, progress=True) -> tuple:
    """(bbox_eval's scores, `detect`'s detections, COCO results) of `model` on `loader` (the eval
    loader of `val_ann`): what `evaluate` reports, and what validation during training logs."""
    detections = detect(config, model, loader, progress=progress)
    results = bbox_results(detections)
    return bbox_eval(val_ann, results), detections, results


def evaluate(config: dict, weights, val_ann, image_root, out_dir, *, num_vis=8, progress=True) -> dict:
    """Score `weights` on the persons of `val_ann` (file_name relative to `image_root`); write
    metrics.json, bbox_results.json and vis/ into `out_dir`. Returns the metrics dict
    (`STAT_NAMES` rounded to 4 decimals, and run details)."""
    out_dir = Path(out_dir)
    loader, _, dataset = build_detection_loader(config, val_ann, image_root, train=False)
    if len(dataset) == 0:
        raise ValueError(f"{val_ann}: no image to evaluate on")
    model = build_model(config)
    load_state(model, str(weights))
    scores, detections, results = score_model(config, model, loader, val_ann, progress=progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "bbox_results.json", results)
    (out_dir / "vis").mkdir(exist_ok=True)
    drawn = draw_results(detections, dataset, out_dir / "vis", num_vis) if num_vis else []
    metrics = {name: round(scores[name], 4) for name in STAT_NAMES}
    metrics.update({
        "config": config["name"], "weights": str(weights), "annotations": str(val_ann),
        "input_size": config["model"]["input_size"], "nms": config["nms"], "images": len(dataset),
        "results": len(results), "dataset_stats": dataset.stats, "display_threshold": DISPLAY_THRESHOLD,
        "vis": [p.name for p in drawn], "summary": scores["summary"],
    })
    write_json(out_dir / "metrics.json", metrics, indent=True)
    return metrics


def main(argv=None):
    parser = argparse.ArgumentParser(description="COCO bbox AP (person) of PicoDet-S pedestrian.")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--weights", required=True, type=Path, help=".pdparams (ours or PaddleDetection's)")
    parser.add_argument("--val-ann", required=True, type=Path, help="COCO json with person boxes")
    parser.add_argument("--image-root", required=True, type=Path, help="folder file_name is relative to")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--num-vis", type=int, default=8)
    add_overrides_argument(parser)
    args = parser.parse_args(argv)
    metrics = evaluate(config_from_args(parser, load_config, args), args.weights, args.val_ann, args.image_root, args.out,
                       num_vis=args.num_vis)
    print(metrics["summary"])
    print(" ".join(f"{name}={metrics[name]:.4f}" for name in STAT_NAMES))


if __name__ == "__main__":
    main()

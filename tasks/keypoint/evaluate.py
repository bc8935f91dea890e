"""Evaluate PP-TinyPose on COCO keypoints with ground-truth person boxes.

PaddleDetection's protocol (KeyPointTopDownCOCOEval, use_gt_bbox): every non-crowd person
with a labelled keypoint is cropped from its GT box (UDP), the heatmaps (averaged with those
of the mirrored crop when flip test is on) are decoded with DARK and mapped back to the
image, each person is rescored (mean keypoint score above `in_vis_thre` x box score 1),
OKS-NMS per image, then pycocotools' COCOeval(iouType='keypoints').

    python -m tasks.keypoint.evaluate --config configs/tinypose_128x96.yml \
        --weights <model_dir>/model_final.pdparams \
        --val-ann <data_root>/coco/annotations/person_keypoints_val2017.json \
        --image-root <data_root>/coco/val2017 --out <model_dir>/eval

`out_dir` receives metrics.json, keypoints_results.json (COCO results) and vis/*.jpg.
"""
import argparse
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import paddle

from tasks.common.atomic import atomic_path, write_json
from tasks.common.config import add_overrides_argument, config_from_args
from tasks.common.draw import draw_pose
from tasks.common.loader import build_loader
from tasks.common.logs import progress_bar
from tasks.common.weights import load_state
from tasks.keypoint.builders import build_codec, build_dataset
from tasks.keypoint.cocoeval import STAT_NAMES, oks_eval, person_results
from tasks.keypoint.config import load_config
from tasks.keypoint.geometry import flip_test as flip_average
from tasks.keypoint.geometry import to_image_coords
from tasks.models.registry import build_model

__all__ = ["evaluate", "score_model", "predict_gt_boxes", "oks_eval"]


def predict_gt_boxes(config, model, dataset, flip_test=True, progress=True) -> dict:
    """Keypoints of every person of `dataset` (eval transforms) in image pixels.

    Returns arrays image_id [N], ann_id [N], keypoints [N, K, 3] (x, y, score), area [N]
    (crop area prod(scale * pixel_std), what OKS-NMS uses), box_score [N].
    """
    codec, eval_cfg = build_codec(config), config["eval"]
    loader, _ = build_loader(dataset, config, train=False)

    def forward(images):
        return model(paddle.to_tensor(images)).numpy()

    out = defaultdict(list)
    model.eval()
    with paddle.no_grad():
        for batch in progress_bar(loader, desc="evaluate", unit="batch", enabled=progress):
            images = batch["image"].numpy()
            if flip_test:
                heatmaps = flip_average(forward, images, config["model"]["flip_pairs"], eval_cfg["shift_heatmap"])
            else:
                heatmaps = forward(images)
            crop_xy, scores = codec.decode(heatmaps)
            centers, scales = batch["center"].numpy(), batch["scale"].numpy()
            image_xy = to_image_coords(crop_xy, centers, scales, config["model"]["input_size"],
                                       use_udp=eval_cfg["udp_backproject"], pixel_std=config["data"]["pixel_std"])
            out["keypoints"].append(np.concatenate([image_xy, scores[..., None]], axis=-1))
            out["area"].append(np.prod(scales * config["data"]["pixel_std"], axis=1))
            out["image_id"].append(batch["image_id"].numpy().reshape(-1))
            out["ann_id"].append(batch["ann_id"].numpy().reshape(-1))
            out["box_score"].append(batch["score"].numpy().reshape(-1))
    return {key: np.concatenate(values) for key, values in out.items()}


def draw_results(results, dataset, vis_dir: Path, num_vis: int, score_thr=0.3) -> list:
    """Draw the predicted skeletons (and GT boxes) of the first `num_vis` images; JPEG paths."""
    files, boxes = {}, defaultdict(list)
    for record in dataset.records:
        files[record["image_id"]] = record["image_file"]
        x, y, w, h = record["bbox"]
        boxes[record["image_id"]].append([x, y, x + w, y + h])
    poses = defaultdict(list)
    for result in results:
        poses[result["image_id"]].append(np.reshape(result["keypoints"], (-1, 3)))
    written = []
    for image_id in sorted(poses)[:num_vis]:
        image = cv2.imread(str(files[image_id]), cv2.IMREAD_COLOR)
        canvas = draw_pose(image, np.stack(poses[image_id]), boxes=np.array(boxes[image_id]), score_thr=score_thr)
        path = vis_dir / f"{image_id}.jpg"
        with atomic_path(path) as tmp:
            ok, data = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])
            if not ok:
                raise RuntimeError(f"cannot encode the drawing of image {image_id} ({files[image_id]})")
            Path(tmp).write_bytes(data.tobytes())
        written.append(path)
    return written


def score_model(config: dict, model, dataset, val_ann, *, flip_test: bool, progress=True) -> tuple:
    """(oks_eval's scores, COCO results) of `model` on `dataset` (the eval dataset of `val_ann`):
    what `evaluate` reports, and what validation during training logs."""
    preds = predict_gt_boxes(config, model, dataset, flip_test=flip_test, progress=progress)
    results = person_results(preds["image_id"], preds["keypoints"], preds["area"], preds["box_score"],
                             in_vis_thre=config["eval"]["in_vis_thre"], oks_thre=config["eval"]["oks_thre"])
    return oks_eval(val_ann, results), results


def evaluate(config: dict, weights: Path, val_ann: Path, image_root: Path, out_dir: Path, *,
             flip_test=None, num_vis=8, progress=True) -> dict:
    """Score `weights` on `val_ann` with GT boxes; write metrics.json, results and drawings.

    flip_test: None takes `eval.flip_test` of the config. Returns the metrics dict
    (AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl and run details).
    """
    out_dir = Path(out_dir)
    flip_test = config["eval"]["flip_test"] if flip_test is None else bool(flip_test)
    dataset = build_dataset(config, val_ann, image_root, train=False)
    if len(dataset) == 0:
        raise ValueError(f"{val_ann}: no person to evaluate (stats: {dataset.stats})")
    model = build_model(config)
    load_state(model, str(weights))
    scores, results = score_model(config, model, dataset, val_ann, flip_test=flip_test, progress=progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "keypoints_results.json", results)
    drawn = draw_results(results, dataset, out_dir / "vis", num_vis) if num_vis else []
    metrics = {name: round(scores[name], 4) for name in STAT_NAMES}
    metrics.update({
        "config": config["name"], "weights": str(weights), "annotations": str(val_ann),
        "flip_test": flip_test, "persons": len(dataset), "results": len(results),
        "dataset_stats": dataset.stats, "vis": [p.name for p in drawn], "summary": scores["summary"],
    })
    write_json(out_dir / "metrics.json", metrics, indent=True)
    return metrics


def main(argv=None):
    parser = argparse.ArgumentParser(description="COCO keypoint AP of PP-TinyPose with ground-truth boxes.")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--weights", required=True, type=Path, help=".pdparams (ours or PaddleDetection's)")
    parser.add_argument("--val-ann", required=True, type=Path)
    parser.add_argument("--image-root", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--no-flip-test", action="store_true")
    parser.add_argument("--num-vis", type=int, default=8)
    add_overrides_argument(parser)
    args = parser.parse_args(argv)
    metrics = evaluate(config_from_args(parser, load_config, args), args.weights, args.val_ann, args.image_root, args.out,
                       flip_test=False if args.no_flip_test else None, num_vis=args.num_vis)
    print(metrics["summary"])
    print(" ".join(f"{name}={metrics[name]:.4f}" for name in STAT_NAMES))


if __name__ == "__main__":
    main()

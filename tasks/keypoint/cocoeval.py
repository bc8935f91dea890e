"""COCO keypoint scoring: PaddleDetection's rescoring + OKS-NMS, then pycocotools' OKS AP.

Protocol of PaddleDetection's KeyPointTopDownCOCOEval (top-down, one prediction per box):
person score = (mean of the keypoint scores above `in_vis_thre`) x box score, then OKS-NMS
per image at `oks_thre`, then COCOeval(iouType='keypoints').
"""
import contextlib
import io
from collections import defaultdict
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from tasks.common.coco import PERSON_ID
from tasks.common.cocometrics import evaluate_and_summarize

# COCO's per-keypoint OKS sigmas (pycocotools' kpt_oks_sigmas).
COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62,
                        1.07, 1.07, .87, .87, .89, .89]) / 10.0
STAT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


def rescore(keypoints, box_score=1.0, in_vis_thre=0.2) -> float:
    """Person score: mean keypoint score over joints scoring above `in_vis_thre`, x box score.

    keypoints: [K, 3] (x, y, score). No joint above the threshold gives 0.
    """
    scores = np.asarray(keypoints, dtype=np.float64)[:, 2]
    kept = scores[scores > in_vis_thre]
    return float(kept.mean() if kept.size else 0.0) * float(box_score)


def oks_iou(ref, others, ref_area, other_areas, sigmas=COCO_SIGMAS):
    """OKS between one pose `ref` [K, 3] and poses `others` [N, K, 3] (areas in px^2) -> [N]."""
    variances = (2 * sigmas) ** 2
    d2 = ((others[:, :, :2] - ref[None, :, :2]) ** 2).sum(-1)
    scale = (ref_area + other_areas)[:, None] / 2 + np.spacing(1)
    return np.exp(-d2 / variances[None] / scale / 2).mean(-1)


def oks_nms(keypoints, scores, areas, thr=0.9, sigmas=COCO_SIGMAS):
    """Greedy NMS on OKS: indices kept, best score first.

    keypoints [N, K, 3], scores [N], areas [N]; a pose whose OKS with a kept,
    higher-scoring pose exceeds `thr` is suppressed.
    """
    keypoints, areas = np.asarray(keypoints, np.float64), np.asarray(areas, np.float64)
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        overlap = oks_iou(keypoints[best], keypoints[rest], areas[best], areas[rest], sigmas)
        order = rest[overlap <= thr]
    return keep


def person_results(image_ids, keypoints, areas, box_scores=None, in_vis_thre=0.2, oks_thre=0.9):
    """COCO keypoint results for top-down predictions, rescored and OKS-NMS'ed per image.

    image_ids [N], keypoints [N, K, 3] in image pixels, areas [N] (box area used by
    OKS-NMS: PaddleDetection uses prod(scale * pixel_std)), box_scores [N] (1 for GT boxes).
    Returns a list of {image_id, category_id, keypoints, score}.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    box_scores = np.ones(len(keypoints)) if box_scores is None else np.asarray(box_scores)
    scores = np.array([rescore(k, s, in_vis_thre) for k, s in zip(keypoints, box_scores)])
    by_image = defaultdict(list)
    for index, image_id in enumerate(image_ids):
        by_image[int(image_id)].append(index)
    results = []
    for image_id, indices in by_image.items():
        indices = np.array(indices)
        kept = oks_nms(keypoints[indices], scores[indices], np.asarray(areas)[indices], oks_thre)
        for i in indices[kept]:
            results.append({"image_id": image_id, "category_id": PERSON_ID,
                            "keypoints": [round(float(v), 3) for v in keypoints[i].ravel()],
                            "score": float(scores[i])})
    return results


def oks_eval(gt_json, results) -> dict:
    """Score keypoint `results` (list of COCO result dicts) against `gt_json` with COCOeval.

    Returns {"AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"}
    (floats; -1 where COCO has no ground truth of that size) plus "summary" (COCOeval's
    printed table).
    """
    if not results:
        raise ValueError(f"no keypoint results to score against {gt_json}")
    with contextlib.redirect_stdout(io.StringIO()):   # pycocotools prints while loading
        coco_gt = COCO(str(Path(gt_json)))
        coco_dt = coco_gt.loadRes(list(results))
    evaluator = COCOeval(coco_gt, coco_dt, iouType="keypoints")
    evaluator.params.useSegm = None
    return evaluate_and_summarize(evaluator, STAT_NAMES)

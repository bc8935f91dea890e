"""Which joints a keypoint model gets wrong, and how (Ronchi & Perona, ICCV 2017).

* AP per joint: pycocotools' COCOeval (iouType 'keypoints') with every ground-truth person
  reduced to one joint: the other joints' visibility set to 0 and `num_keypoints` to 1 when
  the joint is labeled, 0 (ignored, as COCOeval ignores persons without keypoints) when not.
  COCOeval's OKS then averages over that joint alone: it is the joint's keypoint similarity
  ks = exp(-d^2 / (2 s^2 k^2)), s^2 the person's area, k = 2 sigma (COCO's sigmas).
* The taxonomy, per labeled joint of each prediction matched to a person: predictions
  taken by decreasing score, each matched to the unmatched non-crowd person with keypoints
  of highest OKS, if that OKS is above MATCH_OKS (0: a prediction of a badly trained model is
  still matched to the person it was made for, and its joints count as misses). Then with ks to the matched joint:
  good (ks >= 0.85), jitter (0.5 <= ks < 0.85); below 0.5, inversion when ks to the same
  person's opposite-side joint is >= 0.5, else swap when ks to the same joint of another
  person of the image is >= 0.5, else miss.
"""
import contextlib
import copy
import io
import os
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from tasks.common.coco import COCO_KEYPOINTS, NUM_JOINTS
from tasks.common.cocometrics import evaluate_and_summarize
from tasks.keypoint.cocoeval import COCO_SIGMAS, STAT_NAMES

__all__ = ["ERROR_TYPES", "analyse", "joint_ap", "classify_joints", "OPPOSITE"]

GOOD_KS, JITTER_KS = 0.85, 0.5
MATCH_OKS = 0.0
ERROR_TYPES = ("jitter", "inversion", "swap", "miss")


def _opposite(name: str):
    for side, other in (("left_", "right_"), ("right_", "left_")):
        if name.startswith(side):
            return COCO_KEYPOINTS.index(other + name[len(side):])
    return None


#: The opposite-side joint of each joint (None for the nose).
OPPOSITE = tuple(_opposite(name) for name in COCO_KEYPOINTS)
_VARIANCES = (2 * COCO_SIGMAS) ** 2


def analyse(gt_doc: dict, results: list, image_ids=None, worst=12) -> dict:
    """AP per joint and the taxonomy counts of `results` (COCO keypoint results) against
    `gt_doc` (a COCO person-keypoint document), on `image_ids` (default: every image).
    `worst`: how many of the lowest-ks cases of each error type to list."""
    image_ids = sorted({image["id"] for image in gt_doc["images"]} if image_ids is None else image_ids)
    per_joint, cases, matching = classify_joints(gt_doc, results, set(image_ids))
    ap = joint_ap(gt_doc, results, image_ids)
    rows = [{"joint": name, "AP": round(ap[j], 4), **per_joint[j]} for j, name in enumerate(COCO_KEYPOINTS)]
    totals = {kind: sum(row[kind] for row in rows) for kind in ("good", *ERROR_TYPES)}
    worst_cases = {kind: _worst([c for c in cases if c["type"] == kind], worst) for kind in ERROR_TYPES}
    return {"images": len(image_ids), **matching, "per_joint": rows, "totals": totals, "worst": worst_cases}


def _worst(cases: list, count: int) -> list:
    """The `count` lowest-ks cases, one per person first (a bad model misses every joint of a
    person: better to see more persons)."""
    ordered = sorted(cases, key=lambda c: (c["ks"], c["image_id"], str(c["ann_id"]), c["joint"]))
    seen, first, rest = set(), [], []
    for case in ordered:
        person = (case["image_id"], case["ann_id"])
        (rest if person in seen else first).append(case)
        seen.add(person)
    return (first + rest)[:count]


def joint_ap(gt_doc: dict, results: list, image_ids: list, workers=None) -> list:
    """COCO keypoint AP of each joint alone (module docstring), -1 where no person has it.
    The joints are scored in parallel processes (COCOeval is plain Python: about 7 s per
    joint on COCO val2017's 5,000 images)."""
    if not results:
        return [0.0] * NUM_JOINTS
    global _SHARED
    _SHARED = (gt_doc, results, list(image_ids), {})
    workers = max(1, min(workers or os.cpu_count() or 1, NUM_JOINTS))
    try:
        if workers == 1:
            return [_joint_ap(joint) for joint in range(NUM_JOINTS)]
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            return list(pool.map(_joint_ap, range(NUM_JOINTS)))
    finally:
        _SHARED = None


_SHARED = None   # (ground truth, results, image ids, cache) for the forked workers of joint_ap


def _joint_ap(joint: int) -> float:
    gt_doc, results, image_ids, cache = _SHARED
    with contextlib.redirect_stdout(io.StringIO()):   # pycocotools prints while loading
        if "detections" not in cache:
            cache["detections"] = _coco(gt_doc).loadRes(copy.deepcopy(results))
        ground_truth = _coco(_one_joint(gt_doc, joint))
    evaluator = COCOeval(ground_truth, cache["detections"], iouType="keypoints")
    evaluator.params.useSegm = None
    evaluator.params.imgIds = image_ids
    return evaluate_and_summarize(evaluator, STAT_NAMES)["AP"]


def _coco(doc: dict) -> COCO:
    coco = COCO()
    coco.dataset = doc
    coco.createIndex()
    return coco


def _one_joint(gt_doc: dict, joint: int) -> dict:
    annotations = []
    for ann in gt_doc["annotations"]:
        keypoints = np.zeros(3 * NUM_JOINTS)
        keypoints[3 * joint:3 * joint + 3] = ann["keypoints"][3 * joint:3 * joint + 3]
        labeled = keypoints[3 * joint + 2] > 0
        annotations.append({**ann, "keypoints": keypoints.tolist(), "num_keypoints": int(labeled)})
    return {**gt_doc, "annotations": annotations}


def classify_joints(gt_doc: dict, results: list, image_ids: set):
    """(per joint {"good", "jitter", "inversion", "swap", "miss"}, the error cases, matching
    counts) over the images `image_ids`."""
    persons, predictions = defaultdict(list), defaultdict(list)
    for ann in gt_doc["annotations"]:
        if ann["image_id"] in image_ids and not ann.get("iscrowd") and ann.get("num_keypoints", 0) > 0:
            persons[ann["image_id"]].append(ann)
    for result in results:
        if result["image_id"] in image_ids:
            predictions[result["image_id"]].append(result)
    counts = [{kind: 0 for kind in ("good", *ERROR_TYPES)} for _ in range(NUM_JOINTS)]
    cases, matched, unmatched = [], 0, 0
    for image_id in sorted(image_ids):
        truth = [(np.reshape(a["keypoints"], (NUM_JOINTS, 3)), float(a["area"]), a) for a in persons[image_id]]
        for prediction, person in _match(truth, predictions[image_id]):
            if person is None:
                unmatched += 1
                continue
            matched += 1
            for case in _joint_cases(prediction, person, truth):
                counts[case["joint"]][case["type"]] += 1
                if case["type"] != "good":
                    cases.append({**case, "joint": COCO_KEYPOINTS[case["joint"]], "image_id": image_id,
                                  "ann_id": truth[person][2].get("id"), "prediction": prediction.tolist()})
    labeled = sum(len(p) for p in persons.values())
    return counts, cases, {"matched": matched, "unmatched_predictions": unmatched,
                           "unmatched_persons": labeled - matched}


def _ks(point, truth_point, joint, area):
    distance2 = float(((np.asarray(point[:2]) - np.asarray(truth_point[:2])) ** 2).sum())
    return float(np.exp(-distance2 / _VARIANCES[joint] / (area + np.spacing(1)) / 2))


def _oks(prediction, keypoints, area):
    labeled = keypoints[:, 2] > 0
    if not labeled.any():
        return 0.0
    return float(np.mean([_ks(prediction[j], keypoints[j], j, area) for j in np.flatnonzero(labeled)]))


def _match(truth, predictions):
    """[(prediction [17, 3], index into truth or None)], predictions by decreasing score."""
    taken, out = set(), []
    for result in sorted(predictions, key=lambda r: -r["score"]):
        prediction = np.reshape(result["keypoints"], (NUM_JOINTS, 3))
        scores = [(-1.0 if i in taken else _oks(prediction, k, area), i) for i, (k, area, _) in enumerate(truth)]
        best_oks, best = max(scores, default=(-1.0, None))
        if best_oks > MATCH_OKS:
            taken.add(best)
            out.append((prediction, best))
        else:
            out.append((prediction, None))
    return out


def _joint_cases(prediction, person, truth):
    keypoints, area, ann = truth[person]
    for joint in np.flatnonzero(keypoints[:, 2] > 0):
        ks = _ks(prediction[joint], keypoints[joint], joint, area)
        yield {"joint": int(joint), "type": _error_type(prediction, joint, ks, person, truth), "ks": round(ks, 4),
               "truth_xy": keypoints[joint, :2].tolist(), "predicted_xy": prediction[joint, :2].tolist(),
               "box": ann.get("bbox")}


def _error_type(prediction, joint, ks, person, truth):
    if ks >= GOOD_KS:
        return "good"
    if ks >= JITTER_KS:
        return "jitter"
    keypoints, area, _ = truth[person]
    opposite = OPPOSITE[joint]
    if opposite is not None and keypoints[opposite, 2] > 0 and \
            _ks(prediction[joint], keypoints[opposite], joint, area) >= JITTER_KS:
        return "inversion"
    for other, (other_keypoints, other_area, _) in enumerate(truth):
        if other != person and other_keypoints[joint, 2] > 0 and \
                _ks(prediction[joint], other_keypoints[joint], joint, other_area) >= JITTER_KS:
            return "swap"
    return "miss"

"""How a converted or reloaded model's outputs are compared with the reference outputs.

Every check of the export room goes through ``compare_outputs``: the reload of each program
(``tasks.export.inference_model``), the ONNX file and the x86 ``.nb``, all to ``FP32_TOL``
(per output for a detector: ``tasks.export.detector_graph.output_tolerances``).
"""
import numpy as np

# What two float32 runtimes of one network may differ by, every output (a keypoint model's heatmaps)
FP32_TOL = 1e-4


class ComparisonError(RuntimeError):
    """Two output lists cannot be compared (count or shapes differ)."""


def input_list(inputs):
    """Model inputs given as a dict name -> array (in the model's input order) or a sequence -> list."""
    return list(inputs.values()) if isinstance(inputs, dict) else list(inputs)


def compare_outputs(expected, actual, tol, *, score_floor=None):
    """Largest absolute difference between two output lists; shapes must match.

    tol: one tolerance for every output, or one per output (a detector's boxes are in pixels:
    ``tasks.export.detector_graph.output_tolerances``).
    score_floor: the NMS score threshold of a detector. Without NMS in the graph (outputs boxes
    [B, N, 4] and scores [B, C, N], either order: ``tasks.export.layout.detector_io``), compare only
    the boxes of anchors whose best expected score reaches it: the others can never become detections, and with large regression logits
    (synthetic weights: ~5e3) a 1e-5 relative difference moves their distribution's mean by
    0.1 px; every score is compared. With NMS in the graph (outputs bbox [K, 6], bbox_num [B]),
    rows scoring at least ``NMS_STABLE_SCORE`` (and the floor + ``SCORE_TOL``) are matched per
    image and class (``_nms_rows_diffs``: a box of exactly equal score kept instead counts as a match).
    Returns {"max_abs_diff", "max_abs_diffs" (per output), "tol", "ok", "output_shapes"}.
    """
    if len(expected) != len(actual):
        raise ComparisonError(f"output count differs: expected {len(expected)}, got {len(actual)}")
    tols = [float(t) for t in tol] if isinstance(tol, (list, tuple)) else [float(tol)] * len(expected)
    if len(tols) != len(expected):
        raise ValueError(f"{len(tols)} tolerances for {len(expected)} outputs")
    if score_floor is not None and _is_nms_output(expected):
        row_diffs = _nms_rows_diffs(expected, actual, score_floor)
        diffs = [max(row_diffs, default=0.0), 0.0]
        return {"max_abs_diff": diffs[0], "max_abs_diffs": diffs, "tol": tol if isinstance(tol, (int, float)) else tols,
                "ok": diffs[0] <= tols[0], "output_shapes": [list(e.shape) for e in expected],
                "score_floor": float(score_floor), "rows": [int(len(expected[0])), int(len(actual[0]))],
                "rows_compared": len(row_diffs)}
    keep, boxes_index = None, None
    if score_floor is not None:
        from tasks.export.layout.detector_io import decoded_indices
        boxes_index, scores_index = decoded_indices(expected, "score_floor")
        keep = expected[scores_index].max(axis=1) >= score_floor  # [B, N]
    diffs = []
    for i, (e, a) in enumerate(zip(expected, actual)):
        if e.shape != a.shape:
            raise ComparisonError(f"output {i}: shape {a.shape} != expected {e.shape}")
        if i == boxes_index:
            e, a = e[keep], a[keep]
        diffs.append(float(np.max(np.abs(e.astype(np.float64) - a.astype(np.float64)))) if e.size else 0.0)
    result = {"max_abs_diff": max(diffs) if diffs else 0.0, "max_abs_diffs": diffs,
              "tol": tol if isinstance(tol, (int, float)) else tols,
              "ok": all(d <= t for d, t in zip(diffs, tols)), "output_shapes": [list(e.shape) for e in expected]}
    if keep is not None:
        result.update(score_floor=float(score_floor), boxes_compared=int(keep.sum()))
    return result


# After an in-graph NMS (compare_outputs), rows under this score are not compared: two runtimes'
# 1e-4 score differences reorder near-tie overlapping boxes there, and NMS keeps another one.
NMS_STABLE_SCORE = 0.1


def _is_nms_output(outputs) -> bool:
    return len(outputs) == 2 and outputs[0].ndim == 2 and outputs[0].shape[1] == 6 and outputs[1].ndim == 1


def _nms_rows_diffs(expected, actual, score_floor) -> list:
    """For every detection row (class, score, x1, y1, x2, y2) of either NMS output scoring at least
    max(floor + SCORE_TOL, NMS_STABLE_SCORE), its largest difference to the closest row of the
    same image and class in the other output, or 0 when the other output kept a box of the same
    score instead (boxes of equal score are interchangeable to NMS: which one a runtime keeps
    depends on its sort; a trained detector on a noise image gives many exact ties), else inf."""
    from tasks.export.detector_graph import SCORE_TOL

    def per_image(outputs):
        rows, counts = np.asarray(outputs[0], np.float64), np.asarray(outputs[1]).astype(int)
        return np.split(rows[:counts.sum()], np.cumsum(counts)[:-1])

    diffs = []
    for first, second in zip(per_image(expected), per_image(actual)):
        for rows, others in ((first, second), (second, first)):
            for row in rows[rows[:, 1] >= max(score_floor + SCORE_TOL, NMS_STABLE_SCORE)]:
                same_class = others[others[:, 0] == row[0]]
                if not len(same_class):
                    diffs.append(np.inf)
                    continue
                closest = float(np.abs(same_class - row).max(axis=1).min())
                tie = np.abs(same_class[:, 1] - row[1]).min() <= SCORE_TOL / 100
                diffs.append(0.0 if tie and closest > 0 else closest)
    return diffs


def describe_failure(result):
    """'max abs diff 0.0002 > 0.0001 (output 1 of shapes [...])' for a failed ``compare_outputs``."""
    tols = result["tol"] if isinstance(result["tol"], list) else [result["tol"]] * len(result["max_abs_diffs"])
    worst = max(range(len(tols)), key=lambda i: result["max_abs_diffs"][i] - tols[i])
    return (f"max abs diff {result['max_abs_diffs'][worst]:.3g} > {tols[worst]:g} (output {worst} of shapes "
            f"{result['output_shapes']})")

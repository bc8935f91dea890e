"""Running a pycocotools COCOeval and naming its figures."""
import contextlib
import io

# The keypoint figures (COCOeval keypoint stats names) logged and kept in a model's manifest
# and in the pipeline tables.
REPORTED_KEYPOINT_METRICS = ("AP", "AP50", "AP75", "APm", "APl", "AR")


def evaluate_and_summarize(evaluator, stat_names) -> dict:
    """evaluate(), accumulate(), summarize() of a prepared COCOeval, quietly. Returns
    {name: float} for `stat_names` (in COCOeval.stats order) and "summary" (its printed table)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        evaluator.evaluate()
        evaluator.accumulate()
        printed.truncate(0)
        printed.seek(0)
        evaluator.summarize()
    metrics = {name: float(value) for name, value in zip(stat_names, evaluator.stats)}
    metrics["summary"] = printed.getvalue()
    return metrics

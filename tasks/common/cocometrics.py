"""Running a pycocotools COCOeval and naming its figures."""
import contextlib
import io


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

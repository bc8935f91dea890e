"""The merged training list with its lineage, report and statistics, in one call."""
from tasks.annotations.merge import merge
from tasks.annotations.report import format_summary, write_report


def build_merged_annotations(coco_json, aic_jsons, aic_reports, aic_names, out: dict, *, coco_prefix) -> dict:
    """Merge COCO person keypoints with converted AIC files, then write the statistics.

    out: paths for "merged", "lineage", "merge_report", "stats" (JSON) and "plot" (PNG).
    Returns {"totals": ..., "text": the printable summary}.
    """
    merge(coco_json, aic_jsons, out["merged"], out["lineage"], out["merge_report"],
          coco_prefix=coco_prefix, aic_names=aic_names)
    stats = write_report(out["merged"], out["merge_report"], out["stats"], out["plot"], aic_reports)
    return {"totals": stats["totals"], "text": format_summary(stats)}

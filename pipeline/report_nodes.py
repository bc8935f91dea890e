"""The report node: one offline HTML page per data root to look at the data and the models."""
import luigi

from pipeline.cached_task import CachedTask
from pipeline.config import data_root
from pipeline.data_nodes import BuildMergedAnnotations, ConvertAIChallenger, extract_task
from tasks.datasets.layout import AIC_SPLITS, COCO_ANNOTATIONS, COCO_VAL_IMAGES, IMAGE_LINKS, aic_archive


class BuildReport(CachedTask):
    """<data_root>/report/index.html (tasks.report): the dataset browser (COCO train and val,
    AI Challenger raw beside converted), every rejection with pictures, links to the
    numbers the DAG wrote, and the per-joint error analysis of each evaluated keypoint model.

    It requires the data nodes; model results and reports are read where they exist, and
    their sizes and mtimes are part of the signature, so a new evaluation rebuilds the
    report (its thumbnails are reused by content)."""
    include_aic_validation = luigi.BoolParameter(default=False)
    thumbnails_per_page = luigi.IntParameter(default=24, description="thumbnails per browser page")
    pages = luigi.IntParameter(default=3, description="browser pages per source and persons group")
    thumbnails_per_reason = luigi.IntParameter(
        default=12, description="thumbnails per rejection reason and per error type")
    variant_params = ("include_aic_validation",)

    def requires(self):
        merged = BuildMergedAnnotations(include_aic_validation=self.include_aic_validation)
        req = {"merged": merged, "coco_annotations": extract_task(COCO_ANNOTATIONS),
               "coco_val_images": extract_task(COCO_VAL_IMAGES)}
        for split in merged.aic_splits():
            req[f"aic_{split}"] = ConvertAIChallenger(split=split)
        return req

    def signature_params(self):
        from tasks.report.artifacts import optional_inputs
        root = data_root()
        found = {str(path.relative_to(root)): [path.stat().st_size, path.stat().st_mtime_ns]
                 for path in optional_inputs(root)}
        return {**super().signature_params(), "optional_inputs": found}

    def outputs(self):
        folder = data_root() / f"report{self.variant_suffix()}"
        return {"index": folder / "index.html", "pages": folder / "pages", "thumbs": folder / "thumbs",
                "analysis": folder / "error_analysis.json"}

    def manifest_path(self):
        return data_root() / f"report{self.variant_suffix()}.manifest.json"

    def build(self, out):
        from tasks.report.build import build_report
        annotations = self.requires()["coco_annotations"].located()["files"]
        inputs = {"coco_train": annotations["train"], "coco_val": annotations["val"],
                  "aic": {split: (self.requires()[f"aic_{split}"].outputs()["coco_json"],
                                  IMAGE_LINKS[aic_archive(split)])
                          for split in self.requires()["merged"].aic_splits()},
                  "aic_raw": _extracted_aic_annotations()}
        return build_report(data_root(), out, inputs, per_page=self.thumbnails_per_page, pages=self.pages,
                            per_reason=self.thumbnails_per_reason, previous_thumbs=self.outputs()["thumbs"],
                            title=f"Data report{self.variant_suffix()}", progress=self.progress)


def _extracted_aic_annotations() -> dict:
    """{split: raw AIC annotation file} of the AIC archives extracted in this data root."""
    found = {}
    for split in AIC_SPLITS:
        task = extract_task(aic_archive(split))
        try:
            if task.complete():
                found[split] = task.located()["annotations"]
        except KeyError:   # the datasets config does not list this split's archive
            continue
    return found

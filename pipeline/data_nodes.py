"""Data nodes: archives -> extracted folders -> converted AIC -> merged training list."""
import os

import luigi

from pipeline.base import CachedTask
from pipeline.config import data_root, datasets_file

# Where each archive's image folder appears under the data root, so that merged
# file_name values (`coco/train2017/...`, `aic/train/<sha1>.jpg`) resolve.
IMAGE_LINKS = {
    ("coco", "train2017"): "coco/train2017",
    ("coco", "val2017"): "coco/val2017",
    ("aic", "keypoint_train"): "aic/train",
    ("aic", "keypoint_validation"): "aic/val",
}
AIC_SPLITS = {"train": "keypoint_train", "validation": "keypoint_validation"}
COCO_ANNOTATIONS = ("coco", "annotations_trainval2017")


def datasets_entry(dataset: str, archive: str) -> dict:
    from tasks.datasets.config import load_datasets_config
    config = load_datasets_config(datasets_file())
    try:
        return config[dataset][archive]
    except KeyError:
        raise KeyError(f"{datasets_file()}: no archive {dataset}/{archive}") from None


class DownloadArchive(CachedTask):
    """One archive of the datasets config, md5-verified. Its URL is not part of the
    signature: pointing at a mirror with the same checksum re-runs nothing."""
    dataset = luigi.Parameter()
    archive = luigi.Parameter()
    stage_outputs = False  # download() resumes from its own .part file

    def requires(self):
        return []

    def entry(self):
        return datasets_entry(self.dataset, self.archive)

    def signature_params(self):
        return {**super().signature_params(), "md5": self.entry()["md5"]}

    def outputs(self):
        return {"archive": data_root() / "downloads" / self.dataset / self.entry()["filename"]}

    def manifest_path(self):
        return data_root() / "downloads" / self.dataset / f"{self.archive}.manifest.json"

    def build(self, out):
        from tasks.datasets.config import archive_urls
        from tasks.datasets.download import download
        entry = self.entry()
        self.progress(f"downloading {entry['filename']}")
        download(archive_urls(entry), out["archive"], entry["md5"])


class ExtractArchive(CachedTask):
    """Unpack an archive into extracted/<dataset>/<archive>/ and link its image
    folder where the merged file names expect it (coco/train2017, aic/train...)."""
    dataset = luigi.Parameter()
    archive = luigi.Parameter()

    def requires(self):
        return DownloadArchive(dataset=self.dataset, archive=self.archive)

    def entry(self):
        return datasets_entry(self.dataset, self.archive)

    def signature_params(self):
        layout = {k: self.entry()[k] for k in ("images", "annotations", "files") if k in self.entry()}
        return {**super().signature_params(), "layout": layout}

    def outputs(self):
        out = {"folder": data_root() / "extracted" / self.dataset / self.archive}
        link = IMAGE_LINKS.get((self.dataset, self.archive))
        if link:
            out["images"] = data_root() / link
        return out

    def manifest_path(self):
        return data_root() / "extracted" / self.dataset / f"{self.archive}.manifest.json"

    def build(self, out):
        from tasks.datasets.extract import extract
        from tasks.datasets.locate import locate_entry
        self.progress(f"extracting {self.dataset}/{self.archive}")
        extract(self.input().task.outputs()["archive"], out["folder"])
        found = locate_entry(out["folder"], self.entry())  # fails early on a wrong layout
        if "images" in out:
            final_folder = self.outputs()["folder"]
            target = final_folder / found["images"].relative_to(out["folder"])
            os.symlink(os.path.relpath(target, out["images"].parent), out["images"])
        relative = lambda p: str(p.relative_to(out["folder"]))  # noqa: E731
        return {"found": {k: {n: relative(p) for n, p in v.items()} if k == "files" else relative(v)
                          for k, v in found.items()}}

    def located(self) -> dict:
        """The entry's images/annotations/files paths in the extracted folder."""
        from tasks.datasets.locate import locate_entry
        return locate_entry(self.outputs()["folder"], self.entry())


class ConvertAIChallenger(CachedTask):
    """Raw AI Challenger keypoints -> COCO keypoint JSON + rejection report."""
    split = luigi.ChoiceParameter(choices=list(AIC_SPLITS), default="train")
    clip_boxes = luigi.BoolParameter(default=True, parsing=luigi.BoolParameter.EXPLICIT_PARSING)
    min_box_area = luigi.FloatParameter(default=0.0)

    def requires(self):
        return ExtractArchive(dataset="aic", archive=AIC_SPLITS[self.split])

    def outputs(self):
        folder = data_root() / "annotations"
        return {"coco_json": folder / f"aic_{self.split}_cocoformat.json",
                "report": folder / f"aic_{self.split}_conversion_report.json"}

    def manifest_path(self):
        return data_root() / "annotations" / f"aic_{self.split}_cocoformat.manifest.json"

    def build(self, out):
        from tasks.annotations.aic_to_coco import convert_aic
        located = self.requires().located()
        self.progress(f"converting AI Challenger {self.split}")
        report = convert_aic(located["annotations"], located["images"], out["coco_json"],
                             image_prefix=IMAGE_LINKS[("aic", AIC_SPLITS[self.split])],
                             clip_boxes=self.clip_boxes, min_box_area=self.min_box_area,
                             report_json=out["report"])
        return {k: v for k, v in report.items() if k != "rejections"}


class BuildMergedAnnotations(CachedTask):
    """COCO train2017 person keypoints + converted AIC -> one COCO-format training list."""
    include_aic_validation = luigi.BoolParameter(default=False)

    def requires(self):
        req = {"coco_annotations": ExtractArchive(dataset="coco", archive="annotations_trainval2017"),
               "coco_images": ExtractArchive(dataset="coco", archive="train2017"),
               "aic_train": ConvertAIChallenger(split="train")}
        if self.include_aic_validation:
            req["aic_validation"] = ConvertAIChallenger(split="validation")
        return req

    def outputs(self):
        folder = data_root() / "annotations"
        return {"merged": folder / "aic_coco_train_cocoformat.json",
                "lineage": folder / "aic_coco_train_lineage.csv",
                "merge_report": folder / "aic_coco_train_merge_report.json",
                "stats": folder / "aic_coco_train_stats.json",
                "plot": folder / "aic_coco_train_stats.png"}

    def manifest_path(self):
        return data_root() / "annotations" / "aic_coco_train_cocoformat.manifest.json"

    def build(self, out):
        from tasks.annotations.merge import merge
        from tasks.annotations.report import format_summary, write_report
        coco_json = self.requires()["coco_annotations"].located()["files"]["train"]
        aic = [task for name, task in self.requires().items() if name.startswith("aic_")]
        self.progress("merging COCO and AI Challenger", 0.1)
        merge(coco_json, [t.outputs()["coco_json"] for t in aic], out["merged"], out["lineage"],
              out["merge_report"], coco_prefix=IMAGE_LINKS[("coco", "train2017")],
              aic_names=[f"aic_{t.split}" for t in aic])
        self.progress("statistics", 0.8)
        stats = write_report(out["merged"], out["merge_report"], out["stats"], out["plot"],
                             [t.outputs()["report"] for t in aic])
        print(format_summary(stats))
        return {"totals": stats["totals"]}

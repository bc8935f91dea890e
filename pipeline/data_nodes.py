"""Data nodes: archives -> extracted folders -> converted AIC -> merged training list."""
import luigi

from pipeline.cached_task import CachedTask
from pipeline.config import data_root, datasets_file
from tasks.datasets.layout import AIC_SPLITS, COCO_ANNOTATIONS, COCO_TRAIN_IMAGES, IMAGE_LINKS, aic_archive

MERGED_NAME = "aic_coco_train"   # PaddleDetection's aic_coco_train_cocoformat.json


def datasets_entry(dataset: str, archive: str) -> dict:
    """The completed datasets-config entry of one archive (or dataset folder on disk)."""
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
        entry = datasets_entry(self.dataset, self.archive)
        if "path" in entry:
            raise ValueError(f"{datasets_file()}: {self.dataset}/{self.archive} is a folder on disk "
                             f"({entry['path']}): there is no archive to download")
        return entry

    def adopts(self, name, path):
        """An archive a user copied to the download location is used, never rewritten,
        when its md5 is the configured one."""
        from tasks.datasets.checksum import file_md5
        return path.is_file() and not path.is_symlink() and file_md5(path) == self.entry()["md5"]

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
    foreign_output_advice = (
        "If it holds your images, declare the folder in the datasets config instead of an archive "
        "(`path: /the/folder`, see the README's \"Datasets already on disk\"), or move it away; "
        "then run the node again.")

    def requires(self):
        return [] if self.on_disk() else DownloadArchive(dataset=self.dataset, archive=self.archive)

    def entry(self):
        return datasets_entry(self.dataset, self.archive)

    def on_disk(self) -> bool:
        """A dataset folder already on disk (`path:`): used in place, nothing extracted."""
        return "path" in self.entry()

    def signature_params(self):
        keys = ("images", "annotations", "files", "path")
        layout = {k: self.entry()[k] for k in keys if k in self.entry()}
        return {**super().signature_params(), "layout": layout}

    def source_fingerprint(self):
        if not self.on_disk():
            return None
        from tasks.datasets.on_disk import content_fingerprint
        return content_fingerprint(self.located())

    def outputs(self):
        out = {} if self.on_disk() else {"folder": data_root() / "extracted" / self.dataset / self.archive}
        link = IMAGE_LINKS.get((self.dataset, self.archive))
        if link:
            out["images"] = data_root() / link
        return out

    def manifest_path(self):
        return data_root() / "extracted" / self.dataset / f"{self.archive}.manifest.json"

    def carried_inputs(self):
        # The archive's content digest: a changed image of the same size changes the folder's
        # file count and size in no way, but it changes the archive.
        return () if self.on_disk() else ("input",)

    def build(self, out):
        from tasks.datasets.locate import link_folder, unpack_and_locate
        if self.on_disk():
            self.progress(f"using {self.dataset}/{self.archive} where it is: {self.entry()['path']}")
            located = self.located()
            if "images" in out:
                link_folder(located["images"].resolve(), out["images"])
            return {"path": self.entry()["path"]}
        self.progress(f"extracting {self.dataset}/{self.archive}")
        found = unpack_and_locate(self.input().task.outputs()["archive"], out["folder"], self.entry(),
                                  final_folder=self.outputs()["folder"], image_link=out.get("images"))
        return {"found": found}

    def located(self) -> dict:
        """The entry's images/annotations/files paths in the extracted folder (or the folder on disk)."""
        from tasks.datasets.locate import locate_entry
        folder = self.entry()["path"] if self.on_disk() else self.outputs()["folder"]
        return locate_entry(folder, self.entry())


def extract_task(archive: tuple) -> ExtractArchive:
    return ExtractArchive(dataset=archive[0], archive=archive[1])


class ConvertAIChallenger(CachedTask):
    """Raw AI Challenger keypoints -> COCO keypoint JSON + rejection report."""
    split = luigi.ChoiceParameter(choices=list(AIC_SPLITS), default="train")
    clip_boxes = luigi.BoolParameter(default=True, parsing=luigi.BoolParameter.EXPLICIT_PARSING)
    min_box_area = luigi.FloatParameter(default=0.0)
    variant_params = ("clip_boxes", "min_box_area")

    def requires(self):
        return extract_task(aic_archive(self.split))

    def outputs(self):
        stem = data_root() / "annotations" / f"aic_{self.split}"
        return {"coco_json": stem.with_name(f"{stem.name}_cocoformat{self.variant_suffix()}.json"),
                "report": stem.with_name(f"{stem.name}_conversion_report{self.variant_suffix()}.json")}

    def manifest_path(self):
        return data_root() / "annotations" / f"aic_{self.split}_cocoformat{self.variant_suffix()}.manifest.json"

    def build(self, out):
        from tasks.annotations.aic_to_coco import convert_aic
        located = self.requires().located()
        self.progress(f"converting AI Challenger {self.split}")
        report = convert_aic(located["annotations"], located["images"], out["coco_json"],
                             image_prefix=IMAGE_LINKS[aic_archive(self.split)],
                             clip_boxes=self.clip_boxes, min_box_area=self.min_box_area,
                             report_json=out["report"])
        return {k: v for k, v in report.items() if k not in ("rejections", "rejected_records")}


class BuildMergedAnnotations(CachedTask):
    """COCO train2017 person keypoints + converted AIC -> one COCO-format training list.

    Its digest, what training sees, is the merged file and the image folders its
    file names point into; the lineage, report and statistics are for people."""
    include_aic_validation = luigi.BoolParameter(default=False)
    variant_params = ("include_aic_validation",)

    def aic_splits(self) -> list:
        return ["train", "validation"] if self.include_aic_validation else ["train"]

    def requires(self):
        req = {"coco_annotations": extract_task(COCO_ANNOTATIONS),
               "coco_images": extract_task(COCO_TRAIN_IMAGES)}
        for split in self.aic_splits():
            req[f"aic_{split}"] = ConvertAIChallenger(split=split)
            req[f"aic_{split}_images"] = extract_task(aic_archive(split))
        return req

    def digested_outputs(self):
        return ("merged",)

    def carried_inputs(self):
        return ("coco_images", *(f"aic_{split}_images" for split in self.aic_splits()))

    def outputs(self):
        stem = f"{MERGED_NAME}{{}}{self.variant_suffix()}"
        folder = data_root() / "annotations"
        return {"merged": folder / f"{stem.format('_cocoformat')}.json",
                "lineage": folder / f"{stem.format('_lineage')}.csv",
                "merge_report": folder / f"{stem.format('_merge_report')}.json",
                "stats": folder / f"{stem.format('_stats')}.json",
                "plot": folder / f"{stem.format('_stats')}.png"}

    def manifest_path(self):
        return data_root() / "annotations" / f"{MERGED_NAME}_cocoformat{self.variant_suffix()}.manifest.json"

    def build(self, out):
        from tasks.annotations.build import build_merged_annotations
        conversions = [self.requires()[f"aic_{split}"].outputs() for split in self.aic_splits()]
        self.progress("merging COCO and AI Challenger", 0.1)
        summary = build_merged_annotations(
            self.requires()["coco_annotations"].located()["files"]["train"],
            [c["coco_json"] for c in conversions], [c["report"] for c in conversions],
            [f"aic_{split}" for split in self.aic_splits()], out,
            coco_prefix=IMAGE_LINKS[COCO_TRAIN_IMAGES])
        self.progress(summary["text"], 1.0)
        return {"totals": summary["totals"]}

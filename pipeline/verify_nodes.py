"""VerifyImages: every image of the training list (or of COCO val2017) decoded once before a
model trains or is scored on it (tasks.imagecheck)."""
import luigi

from pipeline.cached_task import CachedTask
from pipeline.config import data_root
from pipeline.data_nodes import MERGED_NAME, BuildMergedAnnotations, extract_task
from tasks.datasets.layout import COCO_ANNOTATIONS, COCO_VAL_IMAGES, IMAGE_LINKS

VAL_NAME = "person_keypoints_val2017"


class VerifyImages(CachedTask):
    """The list without its bad images: truncated, corrupt, empty, missing, not an image, or
    not the annotation's size. Writes annotations/<stem>_verified.json (what training or
    evaluation reads), <stem>_image_report.json and <stem>_image_rejections.csv, where
    <stem> is aic_coco_train (the merged list) or person_keypoints_val2017.

    Each file's result is kept in annotations/.<stem>_image_checks.json by (name, size,
    mtime): when the list changes, only new or changed files are decoded."""
    split = luigi.ChoiceParameter(choices=["train", "val"], default="train")
    processes = luigi.IntParameter(default=0, significant=False,
                                   description="decoding processes (0: one per CPU core)")

    def requires(self):
        if self.split == "train":
            return {"annotations": BuildMergedAnnotations()}
        return {"annotations": extract_task(COCO_ANNOTATIONS), "images": extract_task(COCO_VAL_IMAGES)}

    def carried_inputs(self):
        """The images behind the list (the merged node's digest carries its image folders)."""
        return ("annotations",) if self.split == "train" else ("images",)

    def digested_outputs(self):
        return ("verified",)

    def stem(self) -> str:
        return MERGED_NAME if self.split == "train" else VAL_NAME

    def outputs(self):
        folder, stem, suffix = data_root() / "annotations", self.stem(), self.variant_suffix()
        return {"verified": folder / f"{stem}_verified{suffix}.json",
                "report": folder / f"{stem}_image_report{suffix}.json",
                "rejections": folder / f"{stem}_image_rejections{suffix}.csv"}

    def manifest_path(self):
        return data_root() / "annotations" / f"{self.stem()}_verified{self.variant_suffix()}.manifest.json"

    def source(self):
        """(the list to check, the folder its file names are relative to)."""
        if self.split == "train":
            return self.requires()["annotations"].outputs()["merged"], data_root()
        return self.requires()["annotations"].located()["files"]["val"], data_root() / IMAGE_LINKS[COCO_VAL_IMAGES]

    def build(self, out):
        from tasks.imagecheck.verify import verify_list
        annotation_json, image_root = self.source()
        self.progress(f"checking the images of {annotation_json.name}")
        report = verify_list(
            annotation_json, image_root, out, data_root() / "annotations" / f".{self.stem()}_image_checks.json",
            processes=self.processes, progress=lambda done, total, seconds: self.progress(
                f"decoded {done}/{total} images ({done / max(seconds, 1e-9):.0f}/s)", done / total))
        self.progress(f"{report['kept']} of {report['checked']} images kept, {report['rejected']} rejected "
                      f"{report['reasons']} ({report['decoded']} decoded, the others unchanged since checked)")
        return {k: v for k, v in report.items() if k != "rejections"}

"""The pipeline node: detector + TinyPose evaluated together (PP-TinyPose's "Pipeline" table)."""
import luigi

from pipeline.cached_task import CachedTask
from pipeline.config import data_root
from pipeline.deploy_nodes import ExportInferenceModel
from pipeline.verify_nodes import VerifyImages
from tasks.datasets.layout import COCO_VAL_IMAGES, IMAGE_LINKS
from tasks.models.defaults import DEFAULT_CONFIG


class EvaluatePipeline(CachedTask):
    """Keypoint AP on COCO val2017 with the detector's boxes (threshold 0.5, no flip), on the
    single-person images and on the images with at most 6 persons, with the time per image
    (tasks.evaluation.joint_pipeline); val2017 as VerifyImages(split="val") left it."""
    det_config = luigi.Parameter(default=DEFAULT_CONFIG["detector"],
                                 description="detector YAML (configs/picodet_s_*.yml)")
    keypoint_config = luigi.Parameter(default=DEFAULT_CONFIG["keypoint"],
                                      description="keypoint YAML (configs/tinypose_*.yml)")

    def requires(self):
        return {"detector": ExportInferenceModel(config=self.det_config),
                "keypoint": ExportInferenceModel(config=self.keypoint_config),
                "val": VerifyImages(split="val")}

    def names(self):
        return self.requires()["detector"].export_name(), self.requires()["keypoint"].export_name()

    def outputs(self):
        """pipeline/<detector>+<keypoint model>/: metrics.json, pipeline_table.md, keypoints_*.json."""
        return {"folder": data_root() / "pipeline" / "+".join(self.names())}

    def manifest_path(self):
        return data_root() / "pipeline" / f"{'+'.join(self.names())}.manifest.json"

    def build(self, out):
        from tasks.evaluation.joint_pipeline import evaluate_pipeline
        self.progress("detector + TinyPose on val2017")
        metrics = evaluate_pipeline(
            self.requires()["detector"].outputs()["model_dir"], self.requires()["keypoint"].outputs()["model_dir"],
            self.requires()["val"].outputs()["verified"], data_root() / IMAGE_LINKS[COCO_VAL_IMAGES],
            out["folder"], names=self.names())
        return {subset: metrics[subset] for subset in ("single", "multi")}

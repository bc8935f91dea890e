"""TinyPose nodes: train on the merged list, evaluate on COCO val2017 with ground-truth boxes."""
import luigi

from pipeline.model_nodes import EvaluateModel, TrainModel
from tasks.models.defaults import DEFAULT_CONFIG


class TrainTinyPose(TrainModel):
    """Train PP-TinyPose (configs/tinypose_*.yml)."""
    config = luigi.Parameter(default=DEFAULT_CONFIG["keypoint"], description="model YAML (configs/tinypose_*.yml)")


class EvaluateTinyPose(EvaluateModel):
    """COCO keypoint AP of the trained model on val2017 with ground-truth boxes."""
    config = luigi.Parameter(default=DEFAULT_CONFIG["keypoint"], description="model YAML (configs/tinypose_*.yml)")
    train_node = TrainTinyPose

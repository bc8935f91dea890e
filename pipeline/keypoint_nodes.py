"""TinyPose nodes: train on the merged list, evaluate on COCO val2017 with ground-truth boxes."""
import luigi

from pipeline.model_nodes import EvaluateModel, TrainModel

DEFAULT_CONFIG = "configs/tinypose_128x96.yml"


class TrainTinyPose(TrainModel):
    """Train PP-TinyPose (configs/tinypose_*.yml)."""
    config = luigi.Parameter(default=DEFAULT_CONFIG, description="model YAML (configs/tinypose_*.yml)")
    train_function = "tasks.keypoint.train:train"


class EvaluateTinyPose(EvaluateModel):
    """COCO keypoint AP of the trained model on val2017 with ground-truth boxes."""
    config = luigi.Parameter(default=DEFAULT_CONFIG, description="model YAML (configs/tinypose_*.yml)")
    train_node = TrainTinyPose
    evaluate_function = "tasks.keypoint.evaluate:evaluate"
    reported_metrics = ("AP", "AP50", "AP75", "APm", "APl", "AR")

"""PicoDet-S pedestrian nodes: train on the merged list, evaluate on COCO val2017 persons (bbox AP)."""
import luigi

from pipeline.model_nodes import EvaluateModel, TrainModel

DEFAULT_CONFIG = "configs/picodet_s_192_pedestrian.yml"


class TrainDetector(TrainModel):
    """Train PicoDet-S pedestrian (configs/picodet_s_*.yml)."""
    config = luigi.Parameter(default=DEFAULT_CONFIG, description="model YAML (configs/picodet_s_*.yml)")
    train_function = "tasks.detection.train:train"
    evaluation_sections = ("eval", "nms")


class EvaluateDetector(EvaluateModel):
    """COCO bbox AP of the person category on val2017 (pycocotools; crowd regions ignored)."""
    config = luigi.Parameter(default=DEFAULT_CONFIG, description="model YAML (configs/picodet_s_*.yml)")
    train_node = TrainDetector
    evaluate_function = "tasks.detection.evaluate:evaluate"
    reported_metrics = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR")

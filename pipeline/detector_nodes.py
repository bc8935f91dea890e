"""PicoDet-S pedestrian nodes: train on the merged list, evaluate on COCO val2017 persons (bbox AP)."""
import luigi

from pipeline.model_nodes import EvaluateModel, TrainModel
from tasks.models.defaults import DEFAULT_CONFIG


class TrainDetector(TrainModel):
    """Train PicoDet-S pedestrian (configs/picodet_s_*.yml)."""
    config = luigi.Parameter(default=DEFAULT_CONFIG["detector"], description="model YAML (configs/picodet_s_*.yml)")
    evaluation_sections = ("eval", "nms")


class EvaluateDetector(EvaluateModel):
    """COCO bbox AP of the person category on val2017 (pycocotools; crowd regions ignored)."""
    config = luigi.Parameter(default=DEFAULT_CONFIG["detector"], description="model YAML (configs/picodet_s_*.yml)")
    train_node = TrainDetector

"""What `luigi --module pipeline.tasks <Task>` loads: every node of the DAG.

Importing this module stays light (no Paddle): the work functions are imported
inside the nodes' build() methods.
"""
from pipeline.data_nodes import (BuildMergedAnnotations, ConvertAIChallenger, DownloadArchive,
                                 ExtractArchive)
from pipeline.deploy_nodes import (ConvertLiteModel, ExportInferenceModel, ExportLiteModels,
                                   ExportMobileBundle, ExportOnnx)
from pipeline.detector_nodes import EvaluateDetector, TrainDetector
from pipeline.keypoint_nodes import EvaluateTinyPose, TrainTinyPose
from pipeline.pipeline_nodes import EvaluatePipeline
from pipeline.report_nodes import BuildReport
from pipeline.verify_nodes import VerifyImages

__all__ = ["DownloadArchive", "ExtractArchive", "ConvertAIChallenger", "BuildMergedAnnotations",
           "VerifyImages", "TrainTinyPose", "EvaluateTinyPose", "TrainDetector", "EvaluateDetector",
           "ExportInferenceModel", "ExportOnnx",
           "ConvertLiteModel", "ExportLiteModels", "ExportMobileBundle", "EvaluatePipeline", "BuildReport"]

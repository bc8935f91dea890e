"""The detector nodes on the embedded sample through luigi.build: TrainDetector with the demo's
config reaches AP50 >= 0.8 on the sample's val split (EvaluateDetector) and, exported as the demo
runs it, finds the sample video's walking figure in at least 90% of its frames; and what a config
change re-runs."""
import json

import pytest
import yaml

from pipeline.tasks import EvaluateDetector, ExportOnnx, TrainDetector
from pipeline_helpers import SAMPLE_DETECTOR as SAMPLE_CONFIG
from pipeline_helpers import build, pipeline_root
from tasks.detection.evaluate import STAT_NAMES, bbox_eval
from tasks.engine.entry import training_signature
from tasks.runtime.detector_predictor import DetectorPredictor, person_boxes
from tasks.sample.video import render_frames
from test_deploy_joint_detector import iou_xywh

pytestmark = pytest.mark.slow


@pytest.fixture
def models(sample_models):
    """The shared data root, where the demo's detector config was trained and evaluated."""
    with pipeline_root(sample_models["root"], sample_models["datasets"]):
        yield sample_models


def test_detector_nodes_train_and_score_the_sample(models, tmp_path):
    evaluate = EvaluateDetector(config=SAMPLE_CONFIG)
    assert evaluate.complete()
    train = TrainDetector(config=SAMPLE_CONFIG)
    model_dir = models["root"] / "models" / "picodet_s_192_sample"
    assert train.model_dir() == model_dir and evaluate.outputs()["folder"] == model_dir / "eval"

    metrics = json.loads((model_dir / "eval" / "metrics.json").read_text())
    assert metrics["AP50"] >= 0.8, metrics["summary"]
    results = json.loads((model_dir / "eval" / "bbox_results.json").read_text())
    scored = bbox_eval(metrics["annotations"], results)
    assert [metrics[name] for name in STAT_NAMES] == [round(scored[name], 4) for name in STAT_NAMES]
    assert evaluate.read_manifest()["info"]["AP50"] == metrics["AP50"]
    assert list((model_dir / "eval" / "vis").glob("*.jpg"))
    for name in ("model_final.pdparams", "config_used.yml", "train_log.csv", "curves.png", "train_summary.json"):
        assert (model_dir / name).stat().st_size > 0
    summary = train.read_manifest()["info"]
    assert summary["epochs"] == train.model_config()["train"]["epochs"] and summary["ema"]
    signature = training_signature(train.training_config(), train.train_ann(), world_size=1)
    checkpoints = model_dir / "checkpoints" / signature[:16]
    assert (checkpoints / f"epoch_{summary['epochs']:04d}.pdckpt").exists()

    # NMS and evaluation numbers are not training's: a change there re-evaluates, never retrains.
    changed = tmp_path / "nms.yml"
    changed.write_text(yaml.safe_dump({"_base_": SAMPLE_CONFIG, "nms": {"score_threshold": 0.05}}))
    assert TrainDetector(config=str(changed)).complete()
    assert not EvaluateDetector(config=str(changed)).complete()
    changed.write_text(yaml.safe_dump({"_base_": SAMPLE_CONFIG, "optimizer": {"base_lr": 0.01}}))
    assert not TrainDetector(config=str(changed)).complete()


def test_demo_detector_finds_the_walking_figure(models):
    """As `make demo` runs it: the export without NMS, onnxruntime, boxes scoring at least 0.5."""
    onnx = ExportOnnx(config=SAMPLE_CONFIG)
    build(onnx)
    detector = DetectorPredictor(onnx.export_task().outputs()["model_dir"], onnx_path=onnx.outputs()["onnx"],
                                 threads=1)
    frames, truth = render_frames()
    found = [any(iou_xywh(box[:4], person["bbox"]) >= 0.5 for box in person_boxes(detector.detect(frame, 0.5)))
             for frame, person in zip(frames, truth)]
    assert sum(found) >= 0.9 * len(frames), f"found in {sum(found)} of {len(frames)} frames"

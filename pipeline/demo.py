"""`make demo`: the whole DAG on the embedded sample dataset.

    LUIGI_CONFIG_PATH=configs/demo.cfg python -m pipeline.demo

Generates the sample archives and the sample video into the folder of the configured
datasets YAML (data/sample: deterministic, a few seconds, unchanged files are left
alone), runs the real nodes on them through Luigi (the detector + TinyPose pipeline AP
included), then the joint command (tinypose-infer) on the sample's val images and the
video, and prints where the results are.
"""
import json
import sys

import luigi

from pipeline.config import data_root, datasets_file
from pipeline.tasks import (BuildMergedAnnotations, BuildReport, EvaluateDetector, EvaluatePipeline, EvaluateTinyPose,
                            ExportInferenceModel, ExportLiteModels, ExportOnnx, TrainDetector, TrainTinyPose)
from tasks.datasets.layout import COCO_VAL_IMAGES, IMAGE_LINKS


def run_joint_command(evaluate_pipeline, detector_onnx, video):
    """tinypose-infer on the sample's val images and on the video, with the detector's export
    without NMS (``detector_onnx``'s: onnxruntime, then NMS in numpy, the fastest path here) and
    TinyPose's export; returns the output folders."""
    from tasks.app.cli import main as tinypose_infer

    models = ["--det-model", str(detector_onnx.export_task().outputs()["model_dir"]),
              "--model", str(ExportInferenceModel(config=evaluate_pipeline.keypoint_config).outputs()["model_dir"])]
    out = {"images": data_root() / "joint" / "images", "video": data_root() / "joint" / "video"}
    tinypose_infer([*models, "--image-dir", str(data_root() / IMAGE_LINKS[COCO_VAL_IMAGES]), "--out", str(out["images"])])
    tinypose_infer([*models, "--video", str(video), "--smooth", "--out", str(out["video"])])
    return out


def lite_environment_note():
    """None when the Paddle-Lite environment is there, else the one line that says how to add it."""
    from pipeline.config import pipeline
    from tasks.runtime.lite_env import LiteEnvMissing, find_lite_python
    try:
        find_lite_python(pipeline().lite_python or None)
    except LiteEnvMissing as missing:
        return str(missing)
    return None


def main():
    from tasks.sample.generate import generate_sample
    from tasks.sample.video import write_sample_video
    generate_sample(datasets_file().parent)
    video = write_sample_video(datasets_file().parent)["video"]
    evaluate, onnx = EvaluateTinyPose(), ExportOnnx()
    lite_note = lite_environment_note()
    if lite_note:
        print(f"note: the Paddle-Lite files are skipped: {lite_note}", file=sys.stderr)
    lite = ExportLiteModels() if lite_note is None else None
    evaluate_detector, evaluate_pipeline = EvaluateDetector(), EvaluatePipeline()
    detector_onnx = ExportOnnx(config=evaluate_pipeline.det_config)
    result = luigi.build([BuildMergedAnnotations(), evaluate, evaluate_detector, evaluate_pipeline, onnx,
                          detector_onnx, *([lite] if lite else [])], detailed_summary=True)
    print(result.summary_text)
    if not result.scheduling_succeeded:
        sys.exit(1)
    merged = BuildMergedAnnotations().outputs()
    train = TrainTinyPose(config=evaluate.config).outputs()
    eval_dir = evaluate.outputs()["folder"]
    metrics = json.loads((eval_dir / "metrics.json").read_text())
    print("\nDemo results")
    print(f"  data root:          {data_root()}")
    print(f"  merged annotations: {merged['merged']}")
    print(f"  merge statistics:   {merged['stats']} and {merged['plot']}")
    print(f"  trained TinyPose:   {train['weights']} (curves: {train['curves']})")
    print(f"  evaluation:         {eval_dir} (drawn predictions in vis/)")
    print(f"  COCO keypoint AP on the sample's val2017: AP={metrics['AP']:.3f} "
          f"AP50={metrics['AP50']:.3f} AR={metrics['AR']:.3f}")
    detector = TrainDetector(config=evaluate_detector.config).outputs()
    detector_eval = evaluate_detector.outputs()["folder"]
    boxes = json.loads((detector_eval / "metrics.json").read_text())
    print(f"  trained detector:   {detector['weights']} (curves: {detector['curves']})")
    print(f"  detector evaluation: {detector_eval} (drawn boxes in vis/)")
    print(f"  COCO person bbox AP on the sample's val2017: AP={boxes['AP']:.3f} "
          f"AP50={boxes['AP50']:.3f} AR={boxes['AR']:.3f}")
    pipeline_dir = evaluate_pipeline.outputs()["folder"]
    joint = json.loads((pipeline_dir / "metrics.json").read_text())
    print(f"  detector + TinyPose: {pipeline_dir} (metrics.json, pipeline_table.md)")
    print(f"  keypoint AP with the detector's boxes (threshold 0.5, no flip) on the sample's val2017: "
          f"single person AP={joint['single']['AP']:.3f}, <= 6 persons AP={joint['multi']['AP']:.3f} "
          f"({joint['multi']['ms_per_image']:.1f} ms per image)")
    print(f"  ONNX models:        {onnx.outputs()['onnx']} and {detector_onnx.outputs()['onnx']}")
    if lite is None:
        print(f"  Paddle-Lite files:  not built: {lite_note}")
    else:
        print("  Paddle-Lite files:")
        for model in json.loads(lite.outputs()["manifest"].read_text())["models"]:
            print(f"    {data_root() / 'lite' / model['nb']}  {model['size'] / 1e6:.2f} MB")
    print("\nJoint command (tinypose-infer) on the sample:")
    joint_out = run_joint_command(evaluate_pipeline, detector_onnx, video)
    print(f"  drawn val images (boxes and skeletons): {joint_out['images']}")
    print(f"  drawn video: {joint_out['video'] / video.name} (keypoints.json beside it)")
    build_report()


def build_report():
    """BuildReport last, so that its page finds every result of the demo; prints its path."""
    report = BuildReport()
    result = luigi.build([report], detailed_summary=True)
    if not result.scheduling_succeeded:
        print(result.summary_text)
        sys.exit(1)
    print(f"\nReport (open in a browser, no server needed): {report.outputs()['index'].resolve().as_uri()}")


if __name__ == "__main__":
    main()

"""`make demo`: the whole DAG on the embedded sample dataset.

    LUIGI_CONFIG_PATH=configs/demo.cfg python -m pipeline.demo

Generates the sample archives into the folder of the configured datasets YAML
(data/sample: deterministic, a few seconds, unchanged files are left alone), runs
the real nodes on them through Luigi, then prints where the results are.
"""
import json
import sys

import luigi

from pipeline.config import data_root, datasets_file
from pipeline.tasks import (BuildMergedAnnotations, EvaluateDetector, EvaluateTinyPose,
                            ExportLiteModels, ExportOnnx, TrainDetector, TrainTinyPose)


def main():
    from tasks.sample.generate import generate_sample
    generate_sample(datasets_file().parent)
    evaluate, lite, onnx = EvaluateTinyPose(), ExportLiteModels(), ExportOnnx()
    evaluate_detector = EvaluateDetector()
    result = luigi.build([BuildMergedAnnotations(), evaluate, evaluate_detector, onnx, lite],
                         detailed_summary=True)
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
    print(f"  ONNX model:         {onnx.outputs()['onnx']}")
    print("  Paddle-Lite files:")
    for model in json.loads(lite.outputs()["manifest"].read_text())["models"]:
        print(f"    {data_root() / 'lite' / model['nb']}  {model['size'] / 1e6:.2f} MB")


if __name__ == "__main__":
    main()

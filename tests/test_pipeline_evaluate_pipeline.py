"""EvaluatePipeline: subsets by persons per image, scoring files and table, the node's inputs."""
import json

import cv2

from tasks.evaluation.joint_pipeline import evaluate_pipeline, person_counts
from tasks.sample.video import render_frames
from test_deploy_joint_detector import dark_detector_export


def _coco(truth, persons_per_image):
    images, annotations = [], []
    for image_id, (record, n) in enumerate(zip(truth, persons_per_image), start=1):
        images.append({"id": image_id, "file_name": f"{image_id}.png", "width": 320, "height": 240})
        for k in range(n):  # the walking figure, then copies of it (never detected twice: scored as misses)
            keypoints = [v for x, y, vis in record["keypoints"] for v in (x, y, vis)]
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                                "bbox": record["bbox"], "area": record["bbox"][2] * record["bbox"][3],
                                "keypoints": keypoints, "num_keypoints": sum(1 for v in keypoints[2::3] if v)})
    annotations.append({**annotations[0], "id": len(annotations) + 1, "iscrowd": 1})  # crowd: not a person
    return {"images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": "person", "keypoints": [], "skeleton": []}]}


def test_person_counts_skip_crowd_and_other_categories():
    coco = {"images": [{"id": 1}, {"id": 2}, {"id": 3}],
            "annotations": [{"image_id": 1, "category_id": 1}, {"image_id": 1, "category_id": 1, "iscrowd": 1},
                            {"image_id": 2, "category_id": 1}, {"image_id": 2, "category_id": 1},
                            {"image_id": 3, "category_id": 2}]}
    assert person_counts(coco) == {1: 1, 2: 2, 3: 0}


def test_subsets_files_and_table(tinypose_export, tmp_path):
    frames, truth = render_frames()
    persons = [1, 1, 2, 6, 7, 0]  # images 1-2 single, 1-4 multi, 5 (7 persons) and 6 (none) in neither
    for image_id in range(1, len(persons) + 1):
        cv2.imwrite(str(tmp_path / f"{image_id}.png"), frames[6 * (image_id - 1)])
    val_ann = tmp_path / "val.json"
    val_ann.write_text(json.dumps(_coco(truth, persons)))
    det = dark_detector_export(tmp_path / "det")
    metrics = evaluate_pipeline(det, tinypose_export, val_ann, tmp_path, tmp_path / "out", threads=1,
                                names=("picodet_test", "tinypose_test"))
    assert metrics["single"]["images"] == 2 and metrics["single"]["persons"] == 2
    assert metrics["multi"]["images"] == 4 and metrics["multi"]["persons"] == 10
    assert metrics["single"]["detections"] == 2 and metrics["multi"]["detections"] == 4  # one figure drawn each
    assert metrics["flip"] is False and metrics["det_threshold"] == 0.5
    for subset in ("single", "multi"):
        assert 0 <= metrics[subset]["AP"] <= 1 and metrics[subset]["ms_per_image"] > 0
    results = json.loads((tmp_path / "out" / "keypoints_multi.json").read_text())
    assert sorted({r["image_id"] for r in results}) == [1, 2, 3, 4]
    table = (tmp_path / "out" / "pipeline_table.md").read_text().splitlines()
    assert table[0].startswith("| single-person configuration | AP (COCO val, single person) |")
    assert table[2].startswith("| picodet_test + tinypose_test | ")
    assert table[4].startswith("| multi-person configuration | AP (COCO val, <= 6 persons) |")
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["multi"] == metrics["multi"]


def test_node_requires_both_exports_and_the_verified_val_list():
    from pipeline.tasks import EvaluatePipeline, ExportInferenceModel, VerifyImages
    node = EvaluatePipeline(det_config="configs/picodet_s_192_sample.yml",
                            keypoint_config="configs/tinypose_128x96_sample.yml")
    req = node.requires()
    assert req["detector"] == ExportInferenceModel(config="configs/picodet_s_192_sample.yml")
    assert req["keypoint"] == ExportInferenceModel(config="configs/tinypose_128x96_sample.yml")
    assert req["val"] == VerifyImages(split="val")
    assert node.outputs()["folder"].name == "picodet_s_192_sample+tinypose_128x96_sample"

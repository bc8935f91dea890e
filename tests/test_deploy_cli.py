"""tinypose-infer (tasks/app/cli.py) on generated images and a video, with and without a boxes file
(the detector's part: tests/test_deploy_joint.py)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from deploy_helpers import random_image
from tasks.app.cli import main
from tasks.export.layout.files import onnx_file
from tasks.export.layout.folder import ModelDirError, check_export
from tasks.export.layout.infer_cfg import keypoint_infer_cfg
from tasks.runtime.keypoint_predictor import KeypointPredictor

VIDEO_SIZE, VIDEO_FPS, VIDEO_FRAMES = (160, 120), 10.0, 5


@pytest.fixture(scope="module")
def model_dir(tinypose_export):
    return tinypose_export  # with its model.onnx, else every CLI run would convert again


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    folder = root / "folder"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), random_image(1))
    cv2.imwrite(str(folder / "000000000042.jpg"), random_image(2, (90, 200)))
    (folder / "notes.txt").write_text("not an image")
    video = root / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), VIDEO_FPS, VIDEO_SIZE)
    for i in range(VIDEO_FRAMES):
        writer.write(random_image(10 + i, VIDEO_SIZE[::-1]))
    writer.release()
    return {"image": folder / "000000000042.jpg", "folder": folder, "video": video, "root": root}


def _run(model_dir, source, out, *extra):
    assert main(["--model", str(model_dir), "--input", str(source), "--out", str(out), *extra]) == 0
    return json.loads((out / "keypoints.json").read_text())


def _check_person(record, bbox):
    assert record["category_id"] == 1 and record["bbox"] == pytest.approx(bbox, abs=0.01)
    keypoints = np.array(record["keypoints"]).reshape(17, 3)
    assert np.all(np.isfinite(keypoints))  # scores are heatmap maxima: synthetic weights give any sign
    assert record["score"] == pytest.approx(keypoints[:, 2].mean() * record["box_score"], abs=1e-3)


def test_one_image_whole_image_box(model_dir, inputs, tmp_path, capsys):
    records = _run(model_dir, inputs["image"], tmp_path)
    assert len(records) == 1 and records[0]["image_id"] == 42  # COCO-style numeric stem
    assert records[0]["file_name"] == "000000000042.jpg" and records[0]["box_score"] == 1
    _check_person(records[0], [0, 0, 200, 90])
    assert cv2.imread(str(tmp_path / "000000000042.jpg")).shape == (90, 200, 3)
    summary = capsys.readouterr().out
    assert "1 image, 1 person (onnxruntime, 2 threads)" in summary
    assert "img_num: 1" in summary and "keypoint_time(ms): " in summary  # PaddleDetection's timer block


def test_folder_with_annotation_boxes(model_dir, inputs, tmp_path, capsys):
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({
        "images": [{"id": 7, "file_name": "val/a.png"}, {"id": 9, "file_name": "elsewhere.jpg"}],
        "annotations": [
            {"image_id": 7, "bbox": [10, 5, 40, 100], "category_id": 1, "iscrowd": 0},
            {"image_id": 7, "bbox": [80, 20, 50, 90], "category_id": 1},
            {"image_id": 7, "bbox": [0, 0, 160, 120], "category_id": 1, "iscrowd": 1},
        ]}))
    out = tmp_path / "out"
    records = _run(model_dir, inputs["folder"], out, "--boxes", str(boxes))
    assert [(r["image_id"], r["file_name"]) for r in records] == [(7, "a.png")] * 2  # crowd box skipped
    _check_person(records[0], [10, 5, 40, 100])
    _check_person(records[1], [80, 20, 50, 90])
    # and the record of what the command wrote there (it writes over nothing else)
    assert sorted(p.name for p in out.iterdir()) == [".tinypose-infer.json", "000000000042.jpg", "a.png",
                                                     "keypoints.json"]
    summary = capsys.readouterr().out
    assert "2 images, 2 persons" in summary
    assert "1 non-image file in" in summary and f"1 image not named in {boxes}" in summary


def test_video_whole_frame(model_dir, inputs, tmp_path):
    records = _run(model_dir, inputs["video"], tmp_path)
    assert [(r["image_id"], r["frame"]) for r in records] == [(i, i) for i in range(VIDEO_FRAMES)]
    for record in records:
        _check_person(record, [0, 0, *VIDEO_SIZE])
    drawn = cv2.VideoCapture(str(tmp_path / "clip.avi"))
    assert drawn.get(cv2.CAP_PROP_FPS) == pytest.approx(VIDEO_FPS)
    frames = []
    while (frame := drawn.read())[0]:
        frames.append(frame[1])
    drawn.release()
    assert len(frames) == VIDEO_FRAMES and frames[0].shape == (*VIDEO_SIZE[::-1], 3)


def test_video_with_detector_results(model_dir, inputs, tmp_path, capsys):
    boxes = tmp_path / "bbox.json"
    boxes.write_text(json.dumps([
        {"image_id": 0, "bbox": [20, 10, 60, 100], "score": 0.9, "category_id": 1},
        {"image_id": 0, "bbox": [90, 10, 60, 100], "score": 0.8, "category_id": 2},  # not a person
        {"image_id": 3, "bbox": [30, 15, 50, 90], "score": 0.7},
        {"image_id": 3, "bbox": [100, 15, 50, 90], "score": 0.2},  # under --box-thr
    ]))
    records = _run(model_dir, inputs["video"], tmp_path / "out", "--boxes", str(boxes), "--box-thr", "0.5")
    assert [r["frame"] for r in records] == [0, 3]
    _check_person(records[0], [20, 10, 60, 100])
    assert records[1]["box_score"] == pytest.approx(0.7)
    assert (tmp_path / "out" / "clip.avi").stat().st_size > 0
    summary = capsys.readouterr().out
    assert "5 frames, 2 persons" in summary and "1 box under --det-threshold 0.5 skipped" in summary


def test_missing_inputs_name_the_file_and_the_fix(model_dir, inputs, tmp_path):
    missing = inputs["folder"] / "missing.jpg"
    with pytest.raises(SystemExit, match=f"input {missing} does not exist"):
        main(["--model", str(model_dir), "--input", str(missing), "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match=r"model folder .*nope does not exist; make one with "
                                         r"`luigi --module pipeline.tasks ExportInferenceModel --config"):
        main(["--model", str(tmp_path / "nope"), "--input", str(inputs["image"]), "--out", str(tmp_path)])
    broken = inputs["root"] / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    with pytest.raises(SystemExit, match=f"cannot read image {broken}"):
        main(["--model", str(model_dir), "--input", str(broken), "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match=f"boxes file {tmp_path / 'none.json'}"):
        main(["--model", str(model_dir), "--input", str(inputs["image"]), "--out", str(tmp_path),
              "--boxes", str(tmp_path / "none.json")])
    with pytest.raises(SystemExit, match="is the input folder"):
        main(["--model", str(model_dir), "--input", str(inputs["folder"]), "--out", str(inputs["folder"])])
    with pytest.raises(SystemExit, match="holds the input video"):
        main(["--model", str(model_dir), "--input", str(inputs["video"]), "--out", str(inputs["root"])])


def test_onnx_file_prefers_the_folder_then_a_fresh_pipeline_file(tmp_path):
    model_dir = tmp_path / "export" / "m"
    model_dir.mkdir(parents=True)
    (model_dir / "model.pdiparams").write_bytes(b"w")
    assert onnx_file(model_dir) is None
    onnx = tmp_path / "onnx" / "m.onnx"
    onnx.parent.mkdir()
    onnx.write_bytes(b"o")
    assert onnx_file(model_dir) == onnx
    os.utime(onnx, (1, 1))  # older than the export: stale
    assert onnx_file(model_dir) is None
    (model_dir / "model.onnx").write_bytes(b"o")
    assert onnx_file(model_dir) == model_dir / "model.onnx"


def test_model_dir_needs_weights_infer_cfg_and_either_program(tmp_path):
    import yaml
    (tmp_path / "model.pdiparams").write_bytes(b"w")
    (tmp_path / "infer_cfg.yml").write_text(yaml.safe_dump(keypoint_infer_cfg([96, 128])))
    with pytest.raises(ModelDirError, match=r"lacks model.pdmodel or model.json: not an exported"):
        check_export(tmp_path)
    (tmp_path / "model.json").write_text("{}")  # PaddleDetection's Paddle-3 releases carry only this
    assert check_export(tmp_path) == tmp_path
    with pytest.raises(ModelDirError, match=r"is not a detector model: its infer_cfg.yml Preprocess is "
                                            r"\['TopDownEvalAffine', 'NormalizeImage', 'Permute'\]"):
        check_export(tmp_path, "detector")
    (tmp_path / "infer_cfg.yml").write_text("{}")
    with pytest.raises(ModelDirError, match="no readable Preprocess list"):
        check_export(tmp_path)
    (tmp_path / "infer_cfg.yml").unlink()
    with pytest.raises(ModelDirError, match="lacks infer_cfg.yml"):
        check_export(tmp_path)


@pytest.mark.slow
def test_console_script_on_a_video_agrees_with_the_predictor(model_dir, inputs, tmp_path):
    script = Path(sys.executable).with_name("tinypose-infer")  # the installed entry point
    assert script.is_file(), f"{script} missing: `make setup` installs the project into .venv"
    detections = {1: [[10, 5, 60, 100, 0.9], [85, 15, 50, 95, 0.8]], 4: [[30, 20, 70, 90, 0.95]]}
    boxes = tmp_path / "bbox.json"
    boxes.write_text(json.dumps([{"image_id": frame, "bbox": box[:4], "score": box[4], "category_id": 1}
                                 for frame, frame_boxes in detections.items() for box in frame_boxes]))
    out = tmp_path / "out"
    proc = subprocess.run([str(script), "--model", str(model_dir), "--input", str(inputs["video"]), "--out", str(out),
                           "--boxes", str(boxes), "--threads", "1"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "5 frames, 3 persons" in proc.stdout.strip().splitlines()[-1]
    assert "------------------ Inference Time Info ----------------------" in proc.stdout
    records = json.loads((out / "keypoints.json").read_text())
    assert [r["frame"] for r in records] == [1, 1, 4]

    predictor = KeypointPredictor(model_dir, threads=1)
    video = cv2.VideoCapture(str(inputs["video"]))
    frames = []
    while (frame := video.read())[0]:
        frames.append(frame[1])
    video.release()
    for frame_index, frame_boxes in detections.items():
        expected = predictor.predict(frames[frame_index], np.array(frame_boxes, np.float32)[:, :4])
        got = np.array([r["keypoints"] for r in records if r["frame"] == frame_index]).reshape(expected.shape)
        np.testing.assert_allclose(got, expected, atol=1e-3, rtol=0)
    assert (out / "clip.avi").stat().st_size > 0

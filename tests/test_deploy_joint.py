"""The joint command end to end: an exported detector (the hand-made one of
test_deploy_joint_detector.py) + TinyPose (synthetic weights) on sample images and the
sample video, through tinypose-infer's main() and its console script."""
import json
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from tasks.app.boxes import whole_image
from tasks.app.cli import main
from tasks.app.joint import JointPipeline, run
from tasks.app.media import Frame
from tasks.app.pose_boxes import DetectorInterval, boxes_from_keypoints
from tasks.common.draw import BOX_COLOR
from tasks.common.schema import check_schema
from tasks.runtime.keypoint_predictor import KeypointPredictor
from tasks.sample.video import FPS, FRAMES, SIZE, render_frames, write_sample_video
from test_deploy_joint_detector import dark_detector_export, iou_xywh


@pytest.fixture(scope="module")
def detector_dir(tmp_path_factory):
    det = dark_detector_export(tmp_path_factory.mktemp("det") / "picodet")
    from tasks.export.onnx import export_onnx
    export_onnx(det, det / "model.onnx")  # else every run converts it again
    return det


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("joint")
    video = write_sample_video(root)
    truth = json.loads(video["truth"].read_text())["frames"]
    frames, _ = render_frames()
    images = root / "images"
    images.mkdir()
    for index in (0, 20, 35):
        cv2.imwrite(str(images / f"walk_{index:02d}.png"), frames[index])
    (images / "broken.jpg").write_bytes(b"not a jpeg at all")
    (images / "readme.txt").write_text("not an image")
    return {"video": video["video"], "truth": truth, "images": images, "frames": frames}


def _has_box_drawn(image, bbox):
    """Most of the box's outline shows the box colour (within video compression; the
    synthetic-weight skeleton's lines may cross an edge)."""
    x, y, w, h = (int(round(v)) for v in bbox)
    x2, y2 = min(x + w, image.shape[1] - 1), min(y + h, image.shape[0] - 1)
    edges = [image[y + 3:y2 - 3, max(x - 2, 0):x + 3], image[y + 3:y2 - 3, x2 - 2:x2 + 3],
             image[max(y - 2, 0):y + 3, x + 3:x2 - 3].transpose(1, 0, 2), image[y2 - 2:y2 + 3, x + 3:x2 - 3].transpose(1, 0, 2)]
    shown = [(np.abs(edge.astype(int) - BOX_COLOR).sum(axis=2) < 120).any(axis=1) for edge in edges]
    return np.concatenate(shown).mean() > 0.6


def test_video_frames_in_frames_out_with_boxes_on_the_figure(detector_dir, tinypose_export, sample, tmp_path,
                                                             capsys):
    out = tmp_path / "out"
    assert main(["--det-model", str(detector_dir), "--model", str(tinypose_export), "--video", str(sample["video"]),
                 "--out", str(out), "--smooth", "--threads", "1"]) == 0
    records = check_schema(json.loads((out / "keypoints.json").read_text()), "keypoint_results", "keypoints.json")
    assert [r["frame"] for r in records] == list(range(FRAMES))
    assert {r["track_id"] for r in records} == {0}  # one walking person, one track
    for record, truth in zip(records, sample["truth"]):
        assert iou_xywh(record["bbox"], truth["bbox"]) > 0.75 and record["box_score"] == pytest.approx(1)
    drawn = cv2.VideoCapture(str(out / "sample_walk.mp4"))
    assert drawn.get(cv2.CAP_PROP_FPS) == pytest.approx(FPS)
    images = []
    while (frame := drawn.read())[0]:
        images.append(frame[1])
    drawn.release()
    assert len(images) == FRAMES and images[0].shape == (SIZE[1], SIZE[0], 3)
    drawn_boxes = [_has_box_drawn(image, r["bbox"]) for image, r in zip(images, records)]
    assert all(drawn_boxes), drawn_boxes
    printed = capsys.readouterr().out
    assert f"img_num: {FRAMES}" in printed and "det_time(ms)" not in printed and "detector_time(ms): " in printed
    assert (f"{FRAMES} frames, {FRAMES} persons (detector onnxruntime a frame ahead on 1 thread, keypoints "
            "onnxruntime, 1 thread)") in printed
    # one stage at a time, the detector included: the same results
    sequential = tmp_path / "sequential"
    assert main(["--det-model", str(detector_dir), "--model", str(tinypose_export), "--video", str(sample["video"]),
                 "--out", str(sequential), "--smooth", "--threads", "1", "--sequential"]) == 0
    assert (sequential / "keypoints.json").read_text() == (out / "keypoints.json").read_text()
    assert "(detector onnxruntime, keypoints onnxruntime, 1 thread)" in capsys.readouterr().out


def test_folder_runs_past_a_broken_image(detector_dir, tinypose_export, sample, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["--det-model", str(detector_dir), "--model", str(tinypose_export), "--image-dir",
                 str(sample["images"]), "--out", str(out), "--threads", "1"]) == 0
    records = json.loads((out / "keypoints.json").read_text())
    assert [r["file_name"] for r in records] == ["walk_00.png", "walk_20.png", "walk_35.png"]
    for record in records:
        truth = sample["truth"][int(record["file_name"][5:7])]
        assert iou_xywh(record["bbox"], truth["bbox"]) > 0.75
        assert _has_box_drawn(cv2.imread(str(out / record["file_name"])), record["bbox"])
    assert sorted(p.name for p in out.iterdir()) == [".tinypose-infer.json", "keypoints.json", "walk_00.png",
                                                     "walk_20.png", "walk_35.png"]
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "3 images read, 1 not read, 3 persons" in last
    assert f"broken.jpg not read: cannot read image {sample['images']}" in last
    assert "1 non-image file in" in last
    # one stage at a time: the same results and drawings as with decoding and drawing in threads
    sequential = tmp_path / "sequential"
    assert main(["--det-model", str(detector_dir), "--model", str(tinypose_export), "--image-dir",
                 str(sample["images"]), "--out", str(sequential), "--threads", "1", "--sequential"]) == 0
    assert (sequential / "keypoints.json").read_text() == (out / "keypoints.json").read_text()
    for record in records:
        name = record["file_name"]
        assert np.array_equal(cv2.imread(str(sequential / name)), cv2.imread(str(out / name)))


def test_clear_errors(detector_dir, tinypose_export, sample, tmp_path):
    base = ["--model", str(tinypose_export), "--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit, match=r"cannot read image .*broken.jpg: not an image"):
        main([*base, "--image", str(sample["images"] / "broken.jpg")])
    bad_video = tmp_path / "clip.mp4"
    bad_video.write_bytes(b"\x00" * 1000)
    with pytest.raises(SystemExit, match=f"cannot read video {bad_video}: cv2 cannot open it"):
        main([*base, "--video", str(bad_video)])
    with pytest.raises(SystemExit, match=r"detector model folder .* lacks model.pdiparams, infer_cfg.yml, "
                                         r"model.pdmodel or model.json: not an exported inference model"):
        main([*base, "--det-model", str(tmp_path), "--image-dir", str(sample["images"])])
    with pytest.raises(SystemExit, match=r"is not a detector model: .*arch 'HRNet'.*ExportInferenceModel "
                                         r"--config configs/picodet_s_192_pedestrian.yml"):
        main([*base, "--det-model", str(tinypose_export), "--image-dir", str(sample["images"])])
    with pytest.raises(SystemExit, match=r"is not a keypoint model"):
        main(["--model", str(detector_dir), "--out", str(tmp_path / "o"), "--image-dir", str(sample["images"])])
    with pytest.raises(SystemExit, match=r"--image-dir .*walk_00.png: expected a folder"):
        main([*base, "--image-dir", str(sample["images"] / "walk_00.png")])
    with pytest.raises(SystemExit, match="--smooth .* needs --video or --camera"):
        main([*base, "--smooth", "--image", str(sample["images"] / "walk_00.png")])
    with pytest.raises(SystemExit, match="cannot open camera 97"):
        main([*base, "--camera", "97"])


def test_six_persons_in_one_batch_equal_one_by_one(tinypose_export, sample):
    predictor = KeypointPredictor(tinypose_export, threads=1)
    image = np.concatenate([np.concatenate(sample["frames"][i:i + 3], axis=1) for i in (0, 20)], axis=0)
    boxes = np.array([[x * SIZE[0] + 40 + 10 * i, y * SIZE[1] + 20, 150, 200, 0.9]
                      for i, (y, x) in enumerate(np.ndindex(2, 3))], np.float32)

    def source(_):
        return boxes

    frame = Frame(0, "six.png", image)
    together = JointPipeline(predictor, source)(frame)[1]
    alone = JointPipeline(predictor, source, keypoint_batch_size=1)(frame)[1]
    assert together.shape == (6, 17, 3)
    np.testing.assert_allclose(together, alone, atol=1e-3, rtol=0)
    assert np.abs(together[0] - together[1]).max() > 1  # different persons, different keypoints


class _InterruptedCamera:
    """A camera stream of the sample's first frames, then Ctrl-C (as ``CameraInput`` looks)."""
    is_video, fps, failed, skipped, total = True, FPS, [], [], None

    def __init__(self, frames, stop_after):
        self.path, self.size = Path("camera0.mp4"), SIZE
        self.frames, self.stop_after = frames, stop_after

    def __iter__(self):
        for index in range(self.stop_after):
            yield Frame(index, f"camera0#{index}", self.frames[index], is_video_frame=True)
        raise KeyboardInterrupt


def test_an_interrupted_camera_keeps_every_frame_drawn_before(tinypose_export, sample, tmp_path):
    pipeline = JointPipeline(KeypointPredictor(tinypose_export, threads=1), whole_image)
    summary = run(pipeline, _InterruptedCamera(sample["frames"], stop_after=7), tmp_path)
    assert summary["frames"] == 7
    records = json.loads((tmp_path / "keypoints.json").read_text())
    assert [r["frame"] for r in records] == list(range(7))
    drawn = cv2.VideoCapture(str(tmp_path / "camera0.mp4"))
    assert drawn.get(cv2.CAP_PROP_FRAME_COUNT) == 7
    drawn.release()
    assert summary["seconds"]["draw"] > 0 and summary["seconds"]["decode"] > 0


def test_boxes_a_frame_ahead_in_their_own_thread_give_the_same_results(tinypose_export, sample, tmp_path):
    threads = set()

    def boxes_of(frame):  # the figure's true box, in whichever thread asks
        threads.add(threading.current_thread().name)
        return [[*sample["truth"][frame.index]["bbox"], 0.9]]

    predictor = KeypointPredictor(tinypose_export, threads=1)
    camera = _InterruptedCamera(sample["frames"], stop_after=7)
    summaries = {ahead: run(JointPipeline(predictor, boxes_of), camera, tmp_path / str(ahead), boxes_ahead=ahead)
                 for ahead in (False, True)}
    assert summaries[True]["frames"] == summaries[False]["frames"] == 7
    assert threads == {"MainThread", "read-ahead"}
    assert ((tmp_path / "True" / "keypoints.json").read_text()
            == (tmp_path / "False" / "keypoints.json").read_text())
    following = JointPipeline(predictor, DetectorInterval(boxes_of, 4))
    with pytest.raises(ValueError, match="follows the persons of the frame before"):
        run(following, camera, tmp_path / "following", boxes_ahead=True)

    def failing_on_frame_3(frame):
        if frame.index == 3:
            raise RuntimeError("detector failed on frame 3")
        return boxes_of(frame)

    with pytest.raises(RuntimeError, match="detector failed on frame 3"):  # raised here, nothing hangs
        run(JointPipeline(predictor, failing_on_frame_3), camera, tmp_path / "failing", boxes_ahead=True)


@pytest.mark.slow
def test_console_script_as_a_user_runs_it(detector_dir, tinypose_export, sample, tmp_path):
    script = Path(sys.executable).with_name("tinypose-infer")
    assert script.is_file(), f"{script} missing: `make setup` installs the project into .venv"
    out = tmp_path / "out"
    proc = subprocess.run([str(script), "--det-model", str(detector_dir), "--model", str(tinypose_export),
                           "--video", str(sample["video"]), "--out", str(out), "--smooth", "--runtime", "onnx"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[-5] == "------------------ Inference Time Info ----------------------"
    assert f"{FRAMES} frames, {FRAMES} persons" in lines[-1] and str(out / "sample_walk.mp4") in lines[-1]
    proc = subprocess.run([str(script), "--det-model", str(tmp_path), "--model", str(tinypose_export),
                           "--video", str(sample["video"]), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "tinypose-infer: error: detector model folder" in proc.stderr


def test_detector_on_every_fourth_video_frame_keypoints_box_the_others(detector_dir, tinypose_export, sample,
                                                                       tmp_path, capsys):
    args = ["--det-model", str(detector_dir), "--model", str(tinypose_export), "--video", str(sample["video"]),
            "--threads", "1"]
    assert main(args + ["--out", str(tmp_path / "every")]) == 0
    assert main(args + ["--out", str(tmp_path / "fourth"), "--det-interval", "4"]) == 0
    every, fourth = (json.loads((tmp_path / name / "keypoints.json").read_text()) for name in ("every", "fourth"))
    assert [r["frame"] for r in fourth] == list(range(FRAMES))
    for index in range(0, FRAMES, 4):   # the detector's frames: its boxes, the same keypoints
        assert fourth[index] == every[index]
    for index in (i for i in range(FRAMES) if i % 4):   # the others: boxed by the frame before's keypoints
        before = fourth[index - 1]
        followed = boxes_from_keypoints(np.array(before["keypoints"]).reshape(1, -1, 3), [before["box_score"]],
                                        SIZE)
        np.testing.assert_allclose(fourth[index]["bbox"], followed[0, :4], atol=0.02)
    assert f"detector on {FRAMES // 4} of {FRAMES} frames (--det-interval 4)" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="--det-interval skips the detector on video frames"):
        main(args[:4] + ["--image-dir", str(sample["images"]), "--out", str(tmp_path / "images"),
                         "--det-interval", "4"])

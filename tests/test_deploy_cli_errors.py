"""tinypose-infer as people expect it (issue 24): bad flags and files end in one line, not a
traceback; it never writes over a file it did not write; damaged images and frames are named and
skipped; a model that one runtime cannot load falls back to the other and says so; no person found
comes with a hint; the load time is reported apart; a progress bar on a terminal only."""
import io
import json
import shutil

import cv2
import pytest
import yaml

from deploy_helpers import random_image
from tasks.app.cli import main

VIDEO_SIZE = (160, 120)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    folder = root / "folder"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), random_image(1))
    jpeg = cv2.imencode(".jpg", random_image(2))[1].tobytes()
    (folder / "b_cut.jpg").write_bytes(jpeg[:len(jpeg) // 2])   # cv2 decodes it, greyed, with a warning
    video = root / "walk.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, VIDEO_SIZE)
    for i in range(8):
        writer.write(random_image(10 + i, VIDEO_SIZE[::-1]))
    writer.release()
    cut = root / "cut.avi"
    cut.write_bytes(video.read_bytes()[:video.stat().st_size * 6 // 10])  # its header still announces 8
    return {"folder": folder, "good": folder / "a.png", "cut_image": folder / "b_cut.jpg", "video": video,
            "cut_video": cut, "root": root}


def _fails(capsys, *argv, code=1):
    """Run the command; it must exit with ``code`` and one ``tinypose-infer: error:`` line, no traceback."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in argv])
    err = capsys.readouterr().err
    if code == 1:
        assert exit_info.value.code.startswith("tinypose-infer: error: ") and "\n" not in exit_info.value.code
        return exit_info.value.code
    assert exit_info.value.code == code and "Traceback" not in err
    return err


def _runs(capsys, *argv):
    assert main([str(a) for a in argv]) == 0
    return capsys.readouterr()


def _count(frames):
    return f"{frames} frame" + ("s" if frames != 1 else "")


def _copy_export(tinypose_export, folder, keep_onnx=False):
    shutil.copytree(tinypose_export, folder, ignore=None if keep_onnx else shutil.ignore_patterns("model.onnx"))
    return folder


def test_bad_flags_are_usage_errors(tinypose_export, inputs, tmp_path, capsys):
    base = ["--model", tinypose_export, "--input", inputs["good"]]
    err = _fails(capsys, *base, "--out", tmp_path, "--keypoint-batch-size", "-1", code=2)
    assert "--keypoint-batch-size: must be at least 0, got -1" in err
    assert "--threads: must be at least 1" in _fails(capsys, *base, "--out", tmp_path, "--threads", "0", code=2)
    assert "must be a finite number" in _fails(capsys, *base, "--out", tmp_path, "--det-threshold", "nan", code=2)
    a_file = tmp_path / "results.txt"
    a_file.write_text("mine")
    assert f"--out {a_file} is a file" in _fails(capsys, *base, "--out", a_file, code=2)
    assert a_file.read_text() == "mine"


def test_weights_given_as_a_model_say_how_to_export(inputs, tmp_path, capsys):
    weights = tmp_path / "tinypose_128x96.pdparams"
    weights.write_bytes(b"weights")
    message = _fails(capsys, "--model", weights, "--input", inputs["good"], "--out", tmp_path / "out")
    assert "is a weights file, not an exported model: export it first" in message
    assert (f"`luigi --module pipeline.tasks ExportInferenceModel --config configs/tinypose_128x96.yml "
            f"--weights {weights}`") in message and "tinypose-bundle" in message
    message = _fails(capsys, "--model", tmp_path / "out.pdparams", "--input", inputs["good"], "--out", tmp_path)
    assert "does not exist" in message   # a missing file: the folder message as before


def test_infer_cfg_without_trainsize_is_named(tinypose_export, inputs, tmp_path, capsys):
    model = _copy_export(tinypose_export, tmp_path / "model", keep_onnx=True)
    cfg = yaml.safe_load((model / "infer_cfg.yml").read_text())
    del cfg["Preprocess"][0]["trainsize"]
    (model / "infer_cfg.yml").write_text(yaml.safe_dump(cfg))
    message = _fails(capsys, "--model", model, "--input", inputs["good"], "--out", tmp_path / "out")
    assert f"{model / 'infer_cfg.yml'}: its TopDownEvalAffine step needs trainsize" in message


def test_a_damaged_model_names_its_folder_and_both_runtimes(tinypose_export, inputs, tmp_path, capsys):
    model = _copy_export(tinypose_export, tmp_path / "model")
    params = model / "model.pdiparams"
    params.write_bytes(params.read_bytes()[:params.stat().st_size // 3])
    message = _fails(capsys, "--model", model, "--input", inputs["good"], "--out", tmp_path / "out")
    assert f"{model}: cannot load the model: onnxruntime: no ONNX file" in message
    assert "; paddle.inference: " in message


def test_onnx_that_cannot_load_falls_back_to_paddle_and_says_so(tinypose_export, inputs, tmp_path, capsys):
    model = _copy_export(tinypose_export, tmp_path / "model")
    (model / "model.onnx").write_bytes(b"not an onnx file")
    result = _runs(capsys, "--model", model, "--input", inputs["good"], "--out", tmp_path / "out")
    assert "tinypose-infer: note: onnxruntime could not run it (" in result.err
    assert "paddle.inference runs it" in result.err
    assert "1 image, 1 person (paddle, 2 threads)" in result.out


def test_gpu_without_a_gpu_runtime_is_one_line(tinypose_export, inputs, tmp_path, capsys):
    message = _fails(capsys, "--model", tinypose_export, "--input", inputs["good"], "--out", tmp_path,
                     "--device", "gpu")
    assert f"{tinypose_export}: onnxruntime: --device gpu: onnxruntime" in message
    assert "has no CUDAExecutionProvider" in message and "paddlepaddle" in message


@pytest.mark.parametrize("value, shown", [("NaN", "nan"), ("Infinity", "inf"), ('"12"', "'12'"), ("1e400", "inf")])
def test_boxes_that_are_not_finite_numbers(tinypose_export, inputs, tmp_path, capsys, value, shown):
    boxes = tmp_path / "bbox.json"
    boxes.write_text(f'[{{"image_id": "a.png", "bbox": [1, 2, {value}, 40], "score": 0.9}}]')
    message = _fails(capsys, "--model", tinypose_export, "--input", inputs["good"], "--out", tmp_path / "o",
                     "--boxes", boxes)
    assert f"{boxes}: record [0] has no 'bbox' [x, y, w, h] of four finite numbers (got [1, 2, {shown}, 40])" in message
    boxes.write_text('[{"image_id": "a.png", "bbox": [1, 2, 30, 40], "score": "high"}]')
    message = _fails(capsys, "--model", tinypose_export, "--input", inputs["good"], "--out", tmp_path / "o",
                     "--boxes", boxes)
    assert "record [0] has a 'score' that is not a finite number (got 'high')" in message


def test_never_writes_over_what_it_did_not_write(tinypose_export, inputs, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "walk.avi").write_bytes(b"the user's own video")
    (out / "keypoints.json").write_text("the user's own results")
    message = _fails(capsys, "--model", tinypose_export, "--video", inputs["video"], "--out", out)
    assert f"--out {out} holds walk.avi, keypoints.json, not written by tinypose-infer" in message
    assert "choose another --out" in message
    assert (out / "walk.avi").read_bytes() == b"the user's own video"
    assert (out / "keypoints.json").read_text() == "the user's own results"
    mine = tmp_path / "mine"
    for _ in range(2):   # what it wrote itself it may write again
        _runs(capsys, "--model", tinypose_export, "--video", inputs["video"], "--out", mine)
    assert json.loads((mine / ".tinypose-infer.json").read_text())["written"] == ["keypoints.json", "walk.avi"]


def test_damaged_images_and_frames_are_named_skipped_and_counted(tinypose_export, inputs, tmp_path, capsys):
    result = _runs(capsys, "--model", tinypose_export, "--image-dir", inputs["folder"], "--out", tmp_path / "f")
    summary = result.out.strip().splitlines()[-1]
    assert "tinypose-infer: 1 image read, 1 not read, 1 person" in summary
    assert "b_cut.jpg not read: cannot use image" in summary and "truncated JPEG" in summary
    assert not (tmp_path / "f" / "b_cut.jpg").exists()
    message = _fails(capsys, "--model", tinypose_export, "--image", inputs["cut_image"], "--out", tmp_path / "g")
    assert f"cannot use image {inputs['cut_image']}: truncated JPEG" in message
    result = _runs(capsys, "--model", tinypose_export, "--video", inputs["cut_video"], "--out", tmp_path / "v")
    summary = result.out.strip().splitlines()[-1]
    frames = json.loads((tmp_path / "v" / "keypoints.json").read_text())
    decoded = len(frames)   # the whole image is one person: one record per decoded frame
    assert 0 < decoded < 8 and f"{_count(decoded)} read, {8 - decoded} not read" in summary
    assert f"cut.avi#{decoded}-7 not read: {8 - decoded} frames of the 8 the container announces" in summary


def test_no_person_found_says_the_best_score_and_what_to_try(tinypose_export, inputs, tmp_path, capsys):
    boxes = tmp_path / "bbox.json"
    boxes.write_text(json.dumps([{"image_id": "a.png", "bbox": [10, 5, 40, 100], "score": 0.237}]))
    result = _runs(capsys, "--model", tinypose_export, "--input", inputs["good"], "--out", tmp_path / "o",
                   "--boxes", boxes)
    assert ("0 persons" in result.out and "no person found: the best box scored 0.237, under --det-threshold 0.5; "
            "try --det-threshold 0.23") in result.out
    result = _runs(capsys, "--model", tinypose_export, "--input", inputs["good"], "--out", tmp_path / "o",
                   "--boxes", boxes, "--det-threshold", "0.23")
    assert "1 person" in result.out.strip().splitlines()[-1]


def test_load_time_is_reported_apart(tinypose_export, inputs, tmp_path, capsys):
    out = _runs(capsys, "--model", tinypose_export, "--input", inputs["good"], "--out", tmp_path).out
    lines = out.splitlines()
    load = next(line for line in lines if line.startswith("models loaded in "))
    assert load.endswith(" s (not in the times below)") and float(load.split()[3]) > 0
    assert lines.index(load) < lines.index("------------------ Inference Time Info ----------------------")


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("disabled", [False, True])
def test_progress_bar_on_a_terminal_only(tinypose_export, inputs, tmp_path, monkeypatch, capsys, disabled):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    if disabled:
        monkeypatch.setenv("TQDM_DISABLE", "1")
    else:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert main(["--model", str(tinypose_export), "--video", str(inputs["video"]), "--out", str(tmp_path)]) == 0
    shown = terminal.getvalue()
    # tqdm redraws at most every 0.1 s: how far it got depends on speed, its "n/8" total does not
    assert ("tinypose-infer:" in shown and "/8 [" in shown) is not disabled, shown
    plain = io.StringIO()   # not a terminal: no bar
    monkeypatch.setattr("sys.stderr", plain)
    assert main(["--model", str(tinypose_export), "--video", str(inputs["video"]), "--out", str(tmp_path)]) == 0
    assert plain.getvalue() == ""

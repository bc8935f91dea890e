"""``tinypose-infer``: person boxes (an exported detector, a boxes file or the whole image) and
PP-TinyPose keypoints on an image, a folder of images, a video or a camera, on CPU.

    tinypose-infer --det-model data/export/picodet_s_192_pedestrian \\
        --model data/export/tinypose_128x96 --image-dir photos/ --out results/
    tinypose-infer --det-model DET --model KPT --video clip.mp4 --smooth --out results/
    tinypose-infer --det-model DET --model KPT --camera 0 --det-interval 5 --out results/
    tinypose-infer --model KPT --input photos/ --boxes bbox.json --out results/

Argument parsing and wiring only: the work is in tasks/app/joint.py (outputs, timings,
the results file's format), detector_predictor.py, predictor.py, pose_boxes.py, smoothing.py,
media.py, out_folder.py.

No traceback for a bad flag or file: argparse's usage error (exit status 2) for a flag, one
line ``tinypose-infer: error: ...`` naming the file (exit status 1) for an input, a model
folder, a boxes file or an ``--out`` that holds files this command did not write.
"""
import argparse
import logging
import math
import sys
import time
from pathlib import Path

from tasks.app.boxes import BoxesFile, BoxesFileError, whole_image
from tasks.app.joint import JointPipeline, run
from tasks.app.media import CameraInput, MediaError, open_input
from tasks.common.logs import progress_bar as shown_progress_bar
from tasks.export.layout.folder import ModelDirError, check_export
from tasks.runtime.runners import DEVICES, ModelLoadError

# --runtime -> the backend name of tasks.runtime.open
RUNTIMES = {"auto": "auto", "onnx": "onnxruntime", "paddle": "paddle", "lite": "lite"}
INPUT_KINDS = ("image", "image_dir", "video", "camera", "input")


def _at_least(lowest):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"must be at least {lowest}, got {value}")
        return value
    return parse


_frames = _at_least(1)


def _score(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tinypose-infer",
        description="Person boxes + PP-TinyPose keypoints on images, a folder, a video or a camera (CPU).")
    parser.add_argument("--model", "--keypoint-model", required=True, type=Path,
                        help="exported TinyPose folder <data_root>/export/<name>/ (model.json and/or "
                             "model.pdmodel, model.pdiparams, infer_cfg.yml), or PaddleDetection's deploy model")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--image", type=Path, help="one image")
    where.add_argument("--image-dir", type=Path, help="a folder of images (not recursive)")
    where.add_argument("--video", type=Path, help="a video file")
    where.add_argument("--camera", type=int, metavar="N", help="camera index N (cv2.VideoCapture); Ctrl-C stops")
    where.add_argument("--input", "-i", type=Path, help="an image, a folder of images or a video, by its kind")
    parser.add_argument("--out", "-o", required=True, type=Path, help="output folder")
    boxes = parser.add_mutually_exclusive_group()
    boxes.add_argument("--det-model", type=Path,
                       help="exported person detector folder (PicoDet; ours or PaddleDetection's deploy model)")
    boxes.add_argument("--boxes", type=Path,
                       help="person boxes: a COCO annotation file or COCO results list")
    parser.add_argument("--det-threshold", "--box-thr", type=_score, default=0.5,
                        help="persons from boxes scoring at least this (default: %(default)s)")
    parser.add_argument("--det-interval", type=_frames, default=1, metavar="N",
                        help="video: run the detector on every N-th frame only; on the frames between, each "
                             "person's box comes from its keypoints in the frame before (default: %(default)s, "
                             "every frame)")
    parser.add_argument("--runtime", choices=tuple(RUNTIMES), default="auto",
                        help="auto (default): onnxruntime with the export's ONNX file (`python -m tasks.export.onnx "
                             "DIR` writes one), else paddle.inference; lite: the export's model_x86.nb (`python -m "
                             "tasks.export.lite DIR`) on Paddle-Lite x86 in its own environment")
    parser.add_argument("--onnx", type=Path,
                        help="an ONNX file of the keypoint model (default: <model>/model.onnx, else the pipeline's "
                             "<data_root>/onnx/<name>.onnx)")
    parser.add_argument("--device", choices=DEVICES, default="cpu",
                        help="cpu (default) or gpu: paddle.inference on GPU 0 / onnxruntime's CUDA provider, which "
                             "need paddlepaddle-gpu / onnxruntime-gpu (not the CPU packages this project pins)")
    parser.add_argument("--keypoint-batch-size", type=_at_least(0), default=0,
                        help="persons per TinyPose run; 0 (default): all persons of a frame in one batch")
    parser.add_argument("--smooth", action="store_true",
                        help="video: track persons (IoU) and smooth their keypoints (One-Euro filter)")
    parser.add_argument("--threads", type=_at_least(1), default=2,
                        help="CPU threads of each runtime (default: %(default)s; the detector one fewer when it runs "
                             "a frame ahead, see --sequential)")
    parser.add_argument("--score-thr", type=_score, default=0.3,
                        help="keypoints drawn from this score (default: %(default)s)")
    parser.add_argument("--sequential", action="store_true",
                        help="decode, infer and draw one frame after the other: each stage's time without the "
                             "others beside it, fewer frames per second (default: the next frame is decoded, the "
                             "last one drawn and, with --det-model on a video or folder, the next frame's persons "
                             "detected in background threads while TinyPose runs)")
    return parser


def open_media(args):
    if args.camera is not None:
        return CameraInput(args.camera)
    kind = next(k for k in INPUT_KINDS if getattr(args, k) is not None)
    path = getattr(args, kind)
    media = open_input(path)
    expected = {"image": (not media.is_video and not path.is_dir(), "an image file"),
                "image_dir": (path.is_dir(), "a folder"), "video": (media.is_video, "a video file")}
    if kind in expected and not expected[kind][0]:
        raise MediaError(f"--{kind.replace('_', '-')} {path}: expected {expected[kind][1]}")
    return media


def detector_threads(args, media):
    """(threads of the detector, whether it runs a frame ahead of TinyPose). Ahead (``joint.run``'s
    ``boxes_ahead``) on a video, a camera or a folder, unless --sequential or --det-interval; it
    then gets one thread less, as it shares the cores with TinyPose."""
    ahead = (args.det_model is not None and (media.is_video or media.path.is_dir()) and not args.sequential
             and args.det_interval == 1)
    return (max(args.threads - 1, 1) if ahead else args.threads), ahead


def build_pipeline(args, media):
    from tasks.app.pose_boxes import DetectorInterval
    from tasks.app.smoothing import KeypointSmoother
    from tasks.runtime.keypoint_predictor import KeypointPredictor

    if args.smooth and not media.is_video:
        raise MediaError("--smooth smooths keypoints over time: it needs --video or --camera")
    if args.det_interval > 1 and not (args.det_model and media.is_video):
        raise MediaError("--det-interval skips the detector on video frames: it needs --det-model and "
                         "--video or --camera")
    backend = RUNTIMES[args.runtime]
    model_dir = check_export(args.model, "keypoint")
    if args.det_model:
        from tasks.app.joint import DetectorBoxes
        from tasks.runtime.detector_predictor import DetectorPredictor
        detector = DetectorPredictor(check_export(args.det_model, "detector"), backend=backend,
                                     threads=detector_threads(args, media)[0], device=args.device)
        box_source = DetectorBoxes(detector, args.det_threshold)
        if args.det_interval > 1:
            box_source = DetectorInterval(box_source, args.det_interval)
    else:
        box_source = BoxesFile(args.boxes) if args.boxes else whole_image
    predictor = KeypointPredictor(model_dir, backend=backend, threads=args.threads, onnx_path=args.onnx,
                                  device=args.device)
    smoother = KeypointSmoother(media.fps) if args.smooth else None
    return JointPipeline(predictor, box_source, box_thr=args.det_threshold,
                         keypoint_batch_size=args.keypoint_batch_size, smoother=smoother)


def _count(number, noun, plural=None):
    """"1 person", "2 persons"."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def detector_boxes(args, pipeline):
    """The ``DetectorBoxes`` behind the pipeline's box source, or None without --det-model."""
    if not args.det_model:
        return None
    return pipeline.box_source.source if args.det_interval > 1 else pipeline.box_source


def no_person_hint(args, pipeline):
    """Why nothing was found and what to try: the best box score seen against the threshold."""
    detector = detector_boxes(args, pipeline)
    best = max(pipeline.best_box_score, detector.best_score if detector else 0.0)
    if best <= 0.0:
        return "no person found: no box scored above 0" + (" (the detector found nothing)" if detector else "")
    if best >= args.det_threshold:
        return f"no person found (best box score {best:.3f})"
    suggestion = math.floor(best * 100) / 100 or best
    return (f"no person found: the best box scored {best:.3f}, under --det-threshold {args.det_threshold}; "
            f"try --det-threshold {suggestion:g}")


def summary_line(args, media, pipeline, summary):
    noun = "frame" if media.is_video else "image"
    notes = [f"{name} not read: {reason}" for name, reason in summary["failed"]]
    if summary["persons"] == 0:
        notes.insert(0, no_person_hint(args, pipeline))
    if media.skipped:
        notes.append(f"{_count(len(media.skipped), 'non-image file')} in {media.path} not read")
    if summary["boxes_below_thr"]:
        notes.append(f"{_count(summary['boxes_below_thr'], 'box', 'boxes')} under --det-threshold "
                     f"{args.det_threshold} skipped")
    if args.boxes and pipeline.box_source.matched < summary["frames"]:
        notes.append(f"{_count(summary['frames'] - pipeline.box_source.matched, noun)} not named in {args.boxes} "
                     "(no person)")
    runtimes = pipeline.keypoints.backend
    if args.det_model:
        if args.det_interval > 1:
            notes.append(f"detector on {pipeline.box_source.detected_frames} of {summary['frames']} frames "
                         f"(--det-interval {args.det_interval})")
        threads, ahead = detector_threads(args, media)
        where = f" a frame ahead on {_count(threads, 'thread')}" if ahead else ""
        runtimes = f"detector {detector_boxes(args, pipeline).detector.backend}{where}, keypoints {runtimes}"
    read = f"{_count(summary['frames'], noun)} read, {summary['not_read']} not read" if summary["not_read"] else \
        _count(summary["frames"], noun)
    return (f"tinypose-infer: {read}, {_count(summary['persons'], 'person')} "
            f"({runtimes}, {_count(args.threads, 'thread')}); wrote {summary['drawn']} and {summary['results']}"
            + "".join(f"; {n}" for n in notes))


def progress_bar(media):
    """A bar over a folder's images or a video's frames on stderr, shown only on a terminal and
    without TQDM_DISABLE (tasks.common.logs), or None for one image or a camera."""
    if isinstance(media, CameraInput) or not (media.is_video or media.path.is_dir()):
        return None
    return shown_progress_bar(total=media.total, unit="frame" if media.is_video else "image",
                              desc="tinypose-infer", leave=False)


def _runtime_notes(pipeline):
    """What the runtimes fell back to (``tasks.runtime.open``), one line each."""
    runners = [pipeline.keypoints.runner]
    detector = getattr(getattr(pipeline.box_source, "source", pipeline.box_source), "detector", None)
    if detector is not None:
        runners.insert(0, detector.runner)
    return [f"tinypose-infer: note: {runner.fallback}" for runner in runners if getattr(runner, "fallback", None)]


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} is a file; give a folder (created if missing)")
    logging.basicConfig(level=logging.WARNING, format="tinypose-infer: %(message)s")
    try:
        media = open_media(args)
        started = time.perf_counter()
        pipeline = build_pipeline(args, media)
        load_seconds = time.perf_counter() - started
        for note in _runtime_notes(pipeline):
            print(note, file=sys.stderr)
        bar = progress_bar(media)
        try:
            summary = run(pipeline, media, args.out, score_thr=args.score_thr,
                          draw_boxes=args.boxes is not None or args.det_model is not None,
                          background_io=not args.sequential, boxes_ahead=detector_threads(args, media)[1],
                          progress=None if bar is None else lambda frames: bar.update(frames - bar.n))
        finally:
            if bar is not None:
                bar.close()
    except (ModelDirError, ModelLoadError, MediaError, BoxesFileError) as exc:
        raise SystemExit(f"tinypose-infer: error: {exc}") from exc
    print(f"models loaded in {load_seconds:.2f} s (not in the times below)")
    print(pipeline.times.report(summary["frames"]))
    print(summary_line(args, media, pipeline, summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())

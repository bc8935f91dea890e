"""``tinypose-infer``: person boxes (an exported detector, a boxes file or the whole image) and
PP-TinyPose keypoints on an image, a folder of images, a video or a camera, on CPU.

    tinypose-infer --det-model data/export/picodet_s_192_pedestrian \\
        --model data/export/tinypose_128x96 --image-dir photos/ --out results/
    tinypose-infer --det-model DET --model KPT --video clip.mp4 --smooth --out results/
    tinypose-infer --det-model DET --model KPT --camera 0 --det-interval 5 --out results/
    tinypose-infer --model KPT --input photos/ --boxes bbox.json --out results/

Argument parsing and wiring only: the work is in tasks/deploy/joint.py (outputs, timings,
the results file's format), detector_predictor.py, predictor.py, pose_boxes.py, smoothing.py,
media.py.
"""
import argparse
import sys
from pathlib import Path

from tasks.deploy.boxes import BoxesFile, BoxesFileError, whole_image
from tasks.deploy.export_dir import ModelDirError, check_export
from tasks.deploy.joint import JointPipeline, run
from tasks.deploy.media import CameraInput, MediaError, open_input

# --runtime -> the backend name of tasks.deploy.runtime_choice
RUNTIMES = {"auto": "auto", "onnx": "onnxruntime", "paddle": "paddle", "lite": "lite"}
INPUT_KINDS = ("image", "image_dir", "video", "camera", "input")


def _frames(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
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
    parser.add_argument("--det-threshold", "--box-thr", type=float, default=0.5,
                        help="persons from boxes scoring at least this (default: %(default)s)")
    parser.add_argument("--det-interval", type=_frames, default=1, metavar="N",
                        help="video: run the detector on every N-th frame only; on the frames between, each "
                             "person's box comes from its keypoints in the frame before (default: %(default)s, "
                             "every frame)")
    parser.add_argument("--runtime", choices=tuple(RUNTIMES), default="auto",
                        help="auto (default): onnxruntime (an .onnx beside the export or converted on start), "
                             "else paddle.inference; lite: Paddle-Lite x86 in its own environment")
    parser.add_argument("--onnx", type=Path,
                        help="an ONNX file of the keypoint model (default: <model>/model.onnx, else the pipeline's "
                             "<data_root>/onnx/<name>.onnx, else converted on start)")
    parser.add_argument("--keypoint-batch-size", type=int, default=0,
                        help="persons per TinyPose run; 0 (default): all persons of a frame in one batch")
    parser.add_argument("--smooth", action="store_true",
                        help="video: track persons (IoU) and smooth their keypoints (One-Euro filter)")
    parser.add_argument("--threads", type=int, default=2,
                        help="CPU threads of each runtime (default: %(default)s; the detector one fewer when it runs "
                             "a frame ahead, see --sequential)")
    parser.add_argument("--score-thr", type=float, default=0.3,
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
    from tasks.deploy.pose_boxes import DetectorInterval
    from tasks.deploy.predictor import KeypointPredictor
    from tasks.deploy.smoothing import KeypointSmoother

    if args.smooth and not media.is_video:
        raise MediaError("--smooth smooths keypoints over time: it needs --video or --camera")
    if args.det_interval > 1 and not (args.det_model and media.is_video):
        raise MediaError("--det-interval skips the detector on video frames: it needs --det-model and "
                         "--video or --camera")
    backend = RUNTIMES[args.runtime]
    model_dir = check_export(args.model, "keypoint")
    if args.det_model:
        from tasks.deploy.detector_predictor import DetectorPredictor
        from tasks.deploy.joint import DetectorBoxes
        detector = DetectorPredictor(check_export(args.det_model, "detector"), backend=backend,
                                     threads=detector_threads(args, media)[0])
        box_source = DetectorBoxes(detector, args.det_threshold)
        if args.det_interval > 1:
            box_source = DetectorInterval(box_source, args.det_interval)
    else:
        box_source = BoxesFile(args.boxes) if args.boxes else whole_image
    predictor = KeypointPredictor(model_dir, backend=backend, threads=args.threads, onnx_path=args.onnx)
    smoother = KeypointSmoother(media.fps) if args.smooth else None
    return JointPipeline(predictor, box_source, box_thr=args.det_threshold,
                         keypoint_batch_size=args.keypoint_batch_size, smoother=smoother)


def _count(number, noun, plural=None):
    """"1 person", "2 persons"."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def summary_line(args, media, pipeline, summary):
    noun = "frame" if media.is_video else "image"
    notes = [f"{path.name} not read: {reason}" for path, reason in summary["failed"]]
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
        detector_boxes = pipeline.box_source
        if args.det_interval > 1:
            notes.append(f"detector on {detector_boxes.detected_frames} of {summary['frames']} frames "
                         f"(--det-interval {args.det_interval})")
            detector_boxes = detector_boxes.source
        threads, ahead = detector_threads(args, media)
        where = f" a frame ahead on {_count(threads, 'thread')}" if ahead else ""
        runtimes = f"detector {detector_boxes.detector.backend}{where}, keypoints {runtimes}"
    return (f"tinypose-infer: {_count(summary['frames'], noun)}, {_count(summary['persons'], 'person')} "
            f"({runtimes}, {_count(args.threads, 'thread')}); wrote {summary['drawn']} and {summary['results']}"
            + "".join(f"; {n}" for n in notes))


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        media = open_media(args)
        pipeline = build_pipeline(args, media)
        summary = run(pipeline, media, args.out, score_thr=args.score_thr,
                      draw_boxes=args.boxes is not None or args.det_model is not None,
                      background_io=not args.sequential, boxes_ahead=detector_threads(args, media)[1])
    except (ModelDirError, MediaError, BoxesFileError) as exc:
        raise SystemExit(f"tinypose-infer: error: {exc}") from exc
    print(pipeline.times.report(summary["frames"]))
    print(summary_line(args, media, pipeline, summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Frames per second of the joint command on a video: stages one after the other, with
decoding and drawing in background threads (``tasks.app.joint.run``'s ``background_io``),
and with the detector a frame ahead in a thread of its own as well (``boxes_ahead``, what
``tinypose-infer --det-model ... --video`` runs).

    .venv/bin/python bench/video_throughput.py [--frames 150] [--rounds 3]

The sample's walking figure (``tasks.sample.video``) scaled to 640x480 and 1280x720, written
as mp4 videos of ``--frames`` frames, one person per frame, and the 640x480 video with six
persons ("480p_six"); PicoDet-S 192 + TinyPose 128x96 with synthetic weights
(``pipeline_latency.export_models``), onnxruntime, 2 threads (the detector 1 when it runs
ahead, as the command gives it). Synthetic weights detect arbitrary boxes, so the detector
runs in full and fixed boxes replace its output (as in pipeline_latency.py). Each round
runs the three modes on the three cases in turn, in this process (the exports are loaded once);
each figure is the median over rounds of frames / wall time of ``run`` (decode, networks,
drawing, video encoding, keypoints.json). The last line is ``fps_480p_sequential=...
fps_480p_background=... fps_480p_ahead=... fps_720p_sequential=... fps_480p_six_ahead=...``.
"""
import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

THREADS = 2
SIZES = {"480p": (640, 480), "720p": (1280, 720)}
# case -> (video, persons): the given boxes stand in for the detector's
CASES = {"480p": ("480p", 1), "720p": ("720p", 1), "480p_six": ("480p", 6)}
MODES = {"sequential": {"background_io": False}, "background": {"background_io": True},
         "ahead": {"background_io": True, "boxes_ahead": True}}


def write_video(path, size, frames):
    from tasks.sample.video import render_frames
    walk, _ = render_frames()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, size)
    for index in range(frames):
        writer.write(cv2.resize(walk[index % len(walk)], size, interpolation=cv2.INTER_LINEAR))
    writer.release()
    return path


def fixed_boxes(size, persons):
    """[persons, 5] boxes (x, y, w, h, score): one tall box in the middle, or ``persons`` side by side."""
    w, h = size
    if persons == 1:
        return np.array([[0.35 * w, 0.15 * h, 0.3 * w, 0.7 * h, 0.9]], np.float32)
    step = w / persons
    return np.array([[i * step, 0.15 * h, 0.9 * step, 0.7 * h, 0.9] for i in range(persons)], np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from pipeline_latency import export_models
    from tasks.app.joint import JointPipeline, run
    from tasks.app.media import VideoInput
    from tasks.runtime.detector_predictor import DetectorPredictor
    from tasks.runtime.keypoint_predictor import KeypointPredictor

    with tempfile.TemporaryDirectory(prefix="video-bench-") as tmp:
        tmp = Path(tmp)
        det_dir, kpt_dir = export_models(tmp / "models")
        detectors = {ahead: DetectorPredictor(det_dir, backend="onnxruntime",
                                              threads=THREADS - 1 if ahead else THREADS)
                     for ahead in (False, True)}
        keypoints = KeypointPredictor(kpt_dir, backend="onnxruntime", threads=THREADS)
        videos = {name: write_video(tmp / f"{name}.mp4", size, args.frames) for name, size in SIZES.items()}
        fps = {(name, mode): [] for name in CASES for mode in MODES}
        for round_index in range(args.rounds):
            for name, (video_name, persons) in CASES.items():
                video, boxes = videos[video_name], fixed_boxes(SIZES[video_name], persons)
                for mode, options in MODES.items():
                    detector = detectors[options.get("boxes_ahead", False)]

                    def given_boxes(frame, detector=detector):
                        detector.detect(frame.image, min_score=0.5)  # the detector's whole work, its boxes replaced
                        return boxes

                    pipeline = JointPipeline(keypoints, given_boxes)
                    summary = run(pipeline, VideoInput(video), tmp / f"out_{name}_{mode}", **options)
                    assert summary["frames"] == args.frames, summary
                    fps[name, mode].append(summary["frames"] / pipeline.times.wall_seconds)
                    stages = ", ".join(f"{stage} {1000 * s / summary['frames']:.2f}"
                                       for stage, s in pipeline.times.seconds.items() if s)
                    print(f"round {round_index + 1} {name} {mode:10s} {fps[name, mode][-1]:6.1f} frames/s "
                          f"(stages, ms per frame: {stages})", flush=True)
    medians = {key: float(np.median(values)) for key, values in fps.items()}
    for name in CASES:
        print(f"{name}: " + ", ".join(
            f"{mode} {medians[name, mode]:.1f} frames/s ({medians[name, mode] / medians[name, 'sequential']:.2f}x)"
            for mode in MODES))
    print(" ".join(f"fps_{name}_{mode}={medians[name, mode]:.1f}" for name in CASES for mode in MODES))


if __name__ == "__main__":
    main()

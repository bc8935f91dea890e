"""Frames per second of the joint command on a video: stages one after the other, or with
decoding and drawing in background threads (``tasks.deploy.joint.run``'s ``background_io``).

    .venv/bin/python bench/video_throughput.py [--frames 150] [--rounds 3]

The sample's walking figure (``tasks.sample.video``) scaled to 640x480 and 1280x720, written
as mp4 videos of ``--frames`` frames; PicoDet-S 192 + TinyPose 128x96 with synthetic weights
(``pipeline_latency.export_models``), onnxruntime, 2 threads. Synthetic weights detect
arbitrary boxes, so the detector runs in full and one fixed box replaces its output (as in
pipeline_latency.py). Each round runs both modes on both sizes in turn, in this process (the
exports are loaded once); each figure is the median over rounds of frames / wall time of
``run`` (decode, networks, drawing, video encoding, keypoints.json). The last line is
``fps_480p_sequential=... fps_480p_background=... fps_720p_sequential=... fps_720p_background=...``.
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
MODES = {"sequential": False, "background": True}


def write_video(path, size, frames):
    from tasks.sample.video import render_frames
    walk, _ = render_frames()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, size)
    for index in range(frames):
        writer.write(cv2.resize(walk[index % len(walk)], size, interpolation=cv2.INTER_LINEAR))
    writer.release()
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from pipeline_latency import export_models
    from tasks.deploy.detector_predictor import DetectorPredictor
    from tasks.deploy.joint import JointPipeline, run
    from tasks.deploy.media import VideoInput
    from tasks.deploy.predictor import KeypointPredictor

    with tempfile.TemporaryDirectory(prefix="video-bench-") as tmp:
        tmp = Path(tmp)
        det_dir, kpt_dir = export_models(tmp / "models")
        detector = DetectorPredictor(det_dir, backend="onnxruntime", threads=THREADS)
        keypoints = KeypointPredictor(kpt_dir, backend="onnxruntime", threads=THREADS)
        videos = {name: write_video(tmp / f"{name}.mp4", size, args.frames) for name, size in SIZES.items()}
        fps = {(name, mode): [] for name in SIZES for mode in MODES}
        for round_index in range(args.rounds):
            for name, video in videos.items():
                w, h = SIZES[name]
                box = np.array([[0.35 * w, 0.15 * h, 0.3 * w, 0.7 * h, 0.9]], np.float32)

                def one_box(frame):
                    detector.detect(frame.image, min_score=0.5)  # the detector's whole work, its boxes replaced
                    return box

                for mode, background_io in MODES.items():
                    pipeline = JointPipeline(keypoints, one_box)
                    summary = run(pipeline, VideoInput(video), tmp / f"out_{name}_{mode}", background_io=background_io)
                    assert summary["frames"] == args.frames, summary
                    fps[name, mode].append(summary["frames"] / pipeline.times.wall_seconds)
                    stages = ", ".join(f"{stage} {1000 * s / summary['frames']:.2f}"
                                       for stage, s in pipeline.times.seconds.items() if s)
                    print(f"round {round_index + 1} {name} {mode:10s} {fps[name, mode][-1]:6.1f} frames/s "
                          f"(stages, ms per frame: {stages})", flush=True)
    medians = {key: float(np.median(values)) for key, values in fps.items()}
    for name in SIZES:
        gain = medians[name, "background"] / medians[name, "sequential"]
        print(f"{name}: sequential {medians[name, 'sequential']:.1f} frames/s, background I/O "
              f"{medians[name, 'background']:.1f} frames/s ({gain:.2f}x)")
    print(" ".join(f"fps_{name}_{mode}={medians[name, mode]:.1f}" for name in SIZES for mode in MODES))


if __name__ == "__main__":
    main()

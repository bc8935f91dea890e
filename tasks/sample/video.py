"""The sample video: one stick figure walking across a still background, for the joint
command (``tinypose-infer --video``) and ``make demo``.

    write_sample_video(out_dir)  ->  out_dir/sample_walk.mp4 + out_dir/sample_walk.json

Deterministic (fixed seed, the sample's figure drawing). The JSON holds the video's
fps, size and, per frame, the figure's box [x, y, w, h] (its drawn pixels) and its 17 COCO
joints (x, y, visibility 0/1/2): what a test compares detections and keypoints with.
"""
import json
from pathlib import Path

import cv2
import numpy as np

from tasks.sample.archive import write_if_changed
from tasks.sample.figures import COCO_STYLE_JOINTS, Canvas, background, place_figure, pose_extent, sample_pose

SEED = 2017
NAME = "sample_walk"
SIZE = (320, 240)          # [w, h]
FPS = 12.0
FRAMES = 36
FIGURE_HEIGHT = 170        # body height in pixels
HIP_X = (70.0, 250.0)      # the hip centre walks from left to right, at constant speed


def _pose(rng):
    """A pose that fits the frame at FIGURE_HEIGHT with room to walk."""
    for _ in range(100):
        pose = sample_pose(rng)
        x0, y0, x1, y1 = pose_extent(pose)
        if (x1 - x0) * FIGURE_HEIGHT < 110 and (y1 - y0) * FIGURE_HEIGHT < SIZE[1] - 10:
            return pose
    raise RuntimeError("no sample pose fits the video frame")


def render_frames(seed=SEED):
    """([BGR frames], [{"bbox", "keypoints"}]) of the video, frame by frame."""
    rng = np.random.default_rng([seed, 7])
    width, height = SIZE
    still = background(rng, width, height)
    pose = _pose(rng)
    _, y0, _, y1 = (v * FIGURE_HEIGHT for v in pose_extent(pose))
    hip_y = (height - (y1 - y0)) / 2 - y0
    frames, truth = [], []
    for index in range(FRAMES):
        hip_x = HIP_X[0] + (HIP_X[1] - HIP_X[0]) * index / (FRAMES - 1)
        bob = 3.0 * np.sin(index * np.pi / 3)  # a step every 6 frames
        canvas = Canvas(still.copy())
        figure = place_figure(pose, FIGURE_HEIGHT, (hip_x, hip_y + bob), COCO_STYLE_JOINTS)
        canvas.add(figure)
        canvas.finish()
        ys, xs = np.nonzero(figure.mask)
        bbox = [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]
        keypoints = [[int(x), int(y), int(v)] for (x, y), v in zip(figure.joints[:17], figure.status[:17])]
        frames.append(canvas.image)
        truth.append({"bbox": bbox, "keypoints": keypoints})
    return frames, truth


def write_sample_video(out_dir, seed=SEED):
    """Write ``<NAME>.mp4`` (mp4v, FPS, SIZE) and ``<NAME>.json`` into ``out_dir``; returns both paths.
    Files whose bytes are unchanged are left alone."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames, truth = render_frames(seed)
    video, info = out_dir / f"{NAME}.mp4", out_dir / f"{NAME}.json"
    staging = out_dir / f".{NAME}.tmp.mp4"
    writer = cv2.VideoWriter(str(staging), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    if not writer.isOpened():
        raise RuntimeError(f"cv2 cannot write {staging} (mp4v)")
    for frame in frames:
        writer.write(frame)
    writer.release()
    write_if_changed(video, staging.read_bytes())
    staging.unlink()
    write_if_changed(info, json.dumps({"fps": FPS, "size": list(SIZE), "frames": truth}, indent=1).encode())
    return {"video": video, "truth": info}

"""Detector + TinyPose on images, folders, videos and a camera: what ``tinypose-infer`` runs.

Per frame: decode -> person boxes (a ``BoxSource``: the detector, a boxes file, or the whole
image) -> crops of every person kept (box score >= ``box_thr``) -> TinyPose on all of them in
one batch (or chunks of ``keypoint_batch_size``) -> DARK decoding back to image pixels ->
optional temporal smoothing (video) -> drawing. ``run`` decodes and draws in background
threads beside the networks unless told not to, and can run the boxes of the next frame in a
thread of their own as well. Each stage is timed (``StageTimes``), and the
summary is printed in the shape of PaddleDetection's ``det_keypoint_unite_infer`` timer.

Output (``run``): the drawn images (same names) or the drawn video (same fps and frame count),
and ``keypoints.json``, a COCO keypoint results list validated against
``schemas/keypoint_results.schema.json``: one record per person ``{"image_id", "file_name" |
"frame", "category_id": 1, "bbox": [x, y, w, h], "box_score", "keypoints": [x1, y1, s1, ...],
"score"}`` (+ ``"track_id"`` when smoothing), ``score`` = mean keypoint score x box score.
``image_id`` is the frame index for a video; for an image, the id a boxes annotation file gives
it, else its numeric file stem (COCO's 000000397133.jpg -> 397133), else its position.
"""
import time
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from tasks.app.background import InOrderWorker, read_ahead
from tasks.app.boxes import xywh_to_xyxy
from tasks.app.media import MediaError, open_video_writer, video_output_path
from tasks.app.out_folder import claim
from tasks.common.atomic import write_json
from tasks.common.coco import PERSON_ID
from tasks.common.draw import draw_pose
from tasks.common.schema import check_schema
from tasks.runtime.detector_predictor import person_boxes

RESULTS_NAME = "keypoints.json"
RESULTS_SCHEMA = "keypoint_results"
STAGES = ("decode", "detector", "crop", "keypoint", "postprocess", "draw")


class StageTimes:
    """Seconds spent per stage over a run; ``with times.stage("crop"): ...``. Stages may run in
    different threads at once (``run``), so ``wall_seconds`` counts the run's own clock time."""

    def __init__(self):
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self.wall_seconds = 0.0

    @contextmanager
    def stage(self, name):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start

    def report(self, frames):
        """PaddleDetection's "Inference Time Info" block with this pipeline's stages: the average
        latency is a frame's time through every stage; total time and QPS are clock time (less
        than the stages' sum where decoding and drawing ran beside the networks)."""
        per_frame = {name: seconds / max(frames, 1) for name, seconds in self.seconds.items()}
        latency = sum(per_frame.values())
        wall = self.wall_seconds
        stages = ", ".join(f"{name}_time(ms): {1000 * per_frame[name]:.2f}" for name in STAGES)
        return "\n".join([
            "------------------ Inference Time Info ----------------------",
            f"total_time(ms): {1000 * wall:.1f}, img_num: {frames}",
            f"average latency time(ms): {1000 * latency:.2f}, QPS: {frames / wall if wall else 0:.2f}",
            stages,
        ])


class DetectorBoxes:
    """A ``BoxSource`` from a ``DetectorPredictor``: person boxes [N, 5] (x, y, w, h, score)
    scoring at least ``threshold``; ``best_score``: the highest person score seen in any frame."""

    def __init__(self, detector, threshold=0.5):
        self.detector, self.threshold = detector, float(threshold)
        self.best_score = 0.0

    def __call__(self, frame):
        image, scale_factor = self.detector.preprocess(frame.image)
        outputs = self.detector.infer(image, scale_factor)
        self.best_score = max(self.best_score, self.detector.best_score(outputs))
        return person_boxes(self.detector.postprocess(outputs, scale_factor, self.threshold))


class JointPipeline:
    """One frame at a time: boxes from ``box_source``, keypoints from ``keypoint_predictor``
    (``tasks.runtime.keypoint_predictor.KeypointPredictor``), optional ``smoother``
    (``tasks.app.smoothing.KeypointSmoother``). ``keypoint_batch_size`` 0: every person of
    a frame in one batch. ``times`` accumulates the stage times of every call. A box source
    with a ``follow(frame, boxes, keypoints)`` method is shown every frame's persons before
    smoothing (``tasks.app.pose_boxes.DetectorInterval`` boxes the next frame with them)."""

    def __init__(self, keypoint_predictor, box_source, *, box_thr=0.5, keypoint_batch_size=0, smoother=None):
        self.keypoints = keypoint_predictor
        self.box_source = box_source
        self._follow = getattr(box_source, "follow", None)
        self.box_thr = float(box_thr)
        self.batch_size = int(keypoint_batch_size)
        self.smoother = smoother
        self.times = StageTimes()
        self.boxes_below_thr = 0
        self.best_box_score = 0.0   # of every box the source gave, kept or not

    def __call__(self, frame):
        """-> (boxes [N, 5] x, y, w, h, score; keypoints [N, K, 3]; track ids [N] or None)."""
        return self.keypoints_in(frame, self.boxes(frame))

    @property
    def boxes_can_run_ahead(self):
        """Whether ``boxes`` of a frame may run while the frame before is still in the keypoint
        stages: not when the box source follows that frame's persons (``DetectorInterval``)."""
        return self._follow is None

    def boxes(self, frame):
        """The "detector" stage: the boxes [N, 5] of ``frame`` scoring at least ``box_thr``."""
        with self.times.stage("detector"):
            boxes = np.asarray(self.box_source(frame), np.float32).reshape(-1, 5)
            if len(boxes):
                self.best_box_score = max(self.best_box_score, float(boxes[:, 4].max()))
            kept = boxes[:, 4] >= self.box_thr
            self.boxes_below_thr += int((~kept).sum())
            return boxes[kept]

    def keypoints_in(self, frame, boxes):
        """The stages after the detector for ``frame`` and its ``boxes`` (``__call__``'s result)."""
        if len(boxes) == 0:
            keypoints = np.zeros((0, self.keypoints.num_joints, 3), np.float32)
            if self._follow is not None:
                self._follow(frame, boxes, keypoints)
            return boxes, keypoints, None
        with self.times.stage("crop"):
            crops, centers, scales = self.keypoints.preprocess(frame.image, boxes[:, :4])
        with self.times.stage("keypoint"):
            step = self.batch_size or len(crops)
            heatmaps = np.concatenate([self.keypoints.runner(crops[i:i + step])[0]
                                       for i in range(0, len(crops), step)])
        with self.times.stage("postprocess"):
            keypoints = self.keypoints.postprocess(heatmaps, centers, scales)
            if self._follow is not None:
                self._follow(frame, boxes, keypoints)
            track_ids = None
            if self.smoother is not None:
                keypoints, track_ids = self.smoother(frame.index, xywh_to_xyxy(boxes)[:, :4], keypoints)
        return boxes, keypoints, track_ids


def coco_image_id(frame, box_source):
    if frame.is_video_frame:
        return frame.index
    known = getattr(box_source, "image_id", lambda _: None)(frame)
    if known is not None:
        return known
    stem = Path(frame.name).stem
    return int(stem) if stem.isdigit() else frame.index


def person_records(frame, image_id, boxes, keypoints, track_ids=None):
    """COCO results records (module docstring) of one frame's persons."""
    where = {"frame": frame.index} if frame.is_video_frame else {"file_name": frame.name}
    records = []
    for n, (box, person) in enumerate(zip(boxes, keypoints)):
        box_score = float(box[4])
        record = {
            "image_id": image_id, **where, "category_id": PERSON_ID,
            "bbox": [round(float(v), 2) for v in box[:4]], "box_score": round(box_score, 4),
            "keypoints": [round(float(v), 4) for v in person.reshape(-1)],
            "score": round(float(person[:, 2].mean()) * box_score, 4),
        }
        if track_ids is not None:
            record["track_id"] = int(track_ids[n])
        records.append(record)
    return records


def _timed_frames(media, times):
    """The frames of ``media``, the time to decode each counted as "decode"."""
    frames = iter(media)
    while True:
        with times.stage("decode"):
            frame = next(frames, None)
        if frame is None:
            return
        yield frame


def _with_boxes(frames, pipeline):
    """(frame, its boxes from ``pipeline.boxes``) for each of ``frames``."""
    for frame in frames:
        yield frame, pipeline.boxes(frame)


def _claim_outputs(media, out_dir):
    """Where ``media``'s drawn frames go in ``out_dir`` (the drawn video, or ``out_dir`` for images),
    claimed with keypoints.json (``tasks.app.out_folder.claim``); a place that would replace the
    input is refused."""
    drawn = video_output_path(media.path, out_dir) if media.is_video else out_dir
    if media.is_video and drawn.resolve() == media.path.resolve():
        raise MediaError(f"--out {out_dir} holds the input video: the drawn video would replace it")
    input_dir = media.path if media.path.is_dir() else media.path.parent
    if not media.is_video and out_dir.resolve() == input_dir.resolve():
        raise MediaError(f"--out {out_dir} is the input folder: the drawn images would replace the inputs")
    claim(out_dir, [drawn.name] if media.is_video else [path.name for path in media.files], RESULTS_NAME)
    return drawn


def run(pipeline, media, out_dir, *, score_thr=0.3, draw_boxes=True, progress=None, background_io=True,
        boxes_ahead=False):
    """``pipeline`` (a ``JointPipeline``) on every frame of ``media``
    (``tasks.app.media.open_input``); writes the drawn frames and ``keypoints.json`` into
    ``out_dir``, never over a file it did not write there (``tasks.app.out_folder.claim``).
    Returns a summary dict (frames, persons, boxes_below_thr, failed (name, reason), not_read,
    paths, times).

    With ``background_io`` the next frame is decoded and the last one drawn and written in
    background threads while the networks run (``tasks.app.background``; frames are written
    in their order): more frames per second, but the stages share the cores, so each stage's
    time grows. Without it, one stage runs at a time. With ``boxes_ahead`` the detector stage
    runs in a thread of its own, one frame ahead of the keypoint stages: the detector of frame
    n + 1 beside TinyPose of frame n (give the detector one thread less: the two share the
    cores). The results are the same; a pipeline whose box source follows the frame before
    (``JointPipeline.boxes_can_run_ahead``) cannot."""
    if boxes_ahead and not pipeline.boxes_can_run_ahead:
        raise ValueError("run: boxes_ahead with a box source that follows the persons of the frame before "
                         f"({type(pipeline.box_source).__name__}): each frame's boxes need the one before done")
    out_dir = Path(out_dir)
    drawn = _claim_outputs(media, out_dir)
    writer = open_video_writer(drawn, media.fps, media.size) if media.is_video else None
    records, frames, persons = [], 0, 0
    times = pipeline.times

    def draw_and_write(frame, boxes, keypoints):
        with times.stage("draw"):
            canvas = draw_pose(frame.image, keypoints, xywh_to_xyxy(boxes) if draw_boxes else None, score_thr)
            if writer is not None:
                writer.write(canvas)
            elif not cv2.imwrite(str(out_dir / frame.name), canvas):
                raise MediaError(f"cannot write drawn image {out_dir / frame.name}")

    start = time.perf_counter()
    try:
        with InOrderWorker(draw_and_write) as drawer:
            draw = drawer.submit if background_io else draw_and_write
            decoded = _timed_frames(media, times)
            try:
                with_boxes = _with_boxes(read_ahead(decoded) if background_io else decoded, pipeline)
                for frame, boxes in read_ahead(with_boxes, depth=1) if boxes_ahead else with_boxes:
                    boxes, keypoints, track_ids = pipeline.keypoints_in(frame, boxes)
                    records += person_records(frame, coco_image_id(frame, pipeline.box_source), boxes, keypoints,
                                              track_ids)
                    draw(frame, boxes, keypoints)
                    frames += 1
                    persons += len(boxes)
                    if progress is not None:
                        progress(frames)
            except KeyboardInterrupt:  # a camera runs until stopped: keep what was drawn
                pass
    finally:
        if writer is not None:
            writer.release()
    times.wall_seconds += time.perf_counter() - start
    results = write_json(out_dir / RESULTS_NAME, check_schema(records, RESULTS_SCHEMA, out_dir / RESULTS_NAME))
    return {"frames": frames, "persons": persons, "boxes_below_thr": pipeline.boxes_below_thr,
            "failed": list(media.failed), "not_read": getattr(media, "not_read", len(media.failed)),
            "results": str(results), "drawn": str(drawn),
            "seconds": dict(times.seconds)}

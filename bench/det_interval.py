"""The detector on every N-th video frame (``tinypose-infer --det-interval N``): time per frame
and keypoint AP against the truth, on the sample video, with trained models.

    make demo    # trains and exports the sample's TinyPose and detector
    .venv/bin/python bench/det_interval.py [--det-model DIR] [--model DIR] [--intervals 1 2 4 8]
                                           [--frames 144] [--rounds 3]

The sample's walking figure (``tasks.sample.video``, 320x240, 12 fps, its true box and joints
per frame) played forth and back to ``--frames`` frames, so the figure never jumps. Default
models: the demo's exports without NMS in the graph (``data/demo/export``). Each round runs
every interval once, in turn, in this process (onnxruntime, 2 threads): the
``JointPipeline`` on frames decoded beforehand (detector or keypoint boxes, crops, TinyPose,
DARK), timed per frame. Figures: mean ms per frame and of its detector stage (median over
rounds), the persons found, and COCO keypoint AP (pycocotools, OKS) of the frames' persons
against the truth. The last line is
``ms_interval_1=... ms_interval_2=... ... ap_interval_1=... ap_interval_2=... ...``.
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

THREADS = 2
DEMO_EXPORTS = REPO / "data" / "demo" / "export"


def forth_and_back(items, count):
    """``items`` played forward then backward (the ends not repeated) until ``count`` of them."""
    cycle = list(items) + list(items)[-2:0:-1]
    return [cycle[i % len(cycle)] for i in range(count)]


def truth_file(truth, path):
    """The frames' true persons as a COCO keypoint annotation file (image id = frame index)."""
    from tasks.common.coco import PERSON_ID
    from tasks.sample.video import SIZE
    images, annotations = [], []
    for index, person in enumerate(truth):
        keypoints = [value for x, y, v in person["keypoints"] for value in ((x, y, v) if v else (0, 0, 0))]
        x, y, w, h = person["bbox"]
        images.append({"id": index, "file_name": f"{index}.png", "width": SIZE[0], "height": SIZE[1]})
        annotations.append({"id": index + 1, "image_id": index, "category_id": PERSON_ID, "bbox": [x, y, w, h],
                            "area": w * h, "iscrowd": 0, "keypoints": keypoints,
                            "num_keypoints": sum(1 for v in keypoints[2::3] if v)})
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": [{"id": PERSON_ID, "name": "person"}]}))
    return path


def run_interval(detector, keypoints, frames, interval):
    """(records, mean ms per frame, mean ms of its detector stage) of the pipeline with the
    detector every ``interval`` frames."""
    from tasks.app.joint import DetectorBoxes, JointPipeline, person_records
    from tasks.app.pose_boxes import DetectorInterval
    pipeline = JointPipeline(keypoints, DetectorInterval(DetectorBoxes(detector), interval))
    records, seconds = [], 0.0
    for frame in frames:
        start = time.perf_counter()
        boxes, persons, _ = pipeline(frame)
        seconds += time.perf_counter() - start
        records += person_records(frame, frame.index, boxes, persons)
    return records, 1000 * seconds / len(frames), 1000 * pipeline.times.seconds["detector"] / len(frames)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--det-model", type=Path, default=DEMO_EXPORTS / "picodet_s_192_sample_no_nms")
    parser.add_argument("--model", type=Path, default=DEMO_EXPORTS / "tinypose_128x96_sample")
    parser.add_argument("--intervals", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--frames", type=int, default=144)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for folder in (args.det_model, args.model):
        if not (folder / "infer_cfg.yml").is_file():
            raise SystemExit(f"{folder}: no export there (run `make demo` first, or give --det-model/--model)")

    from tasks.app.media import Frame
    from tasks.keypoint.cocoeval import oks_eval
    from tasks.runtime.detector_predictor import DetectorPredictor
    from tasks.runtime.keypoint_predictor import KeypointPredictor
    from tasks.sample.video import render_frames

    images, truth = render_frames()
    images, truth = forth_and_back(images, args.frames), forth_and_back(truth, args.frames)
    frames = [Frame(i, f"walk#{i}", image, is_video_frame=True) for i, image in enumerate(images)]
    detector = DetectorPredictor(args.det_model, backend="onnxruntime", threads=THREADS)
    keypoints = KeypointPredictor(args.model, backend="onnxruntime", threads=THREADS)
    ms, detector_ms, records = {n: [] for n in args.intervals}, {n: [] for n in args.intervals}, {}
    for _ in range(args.rounds):
        for n in args.intervals:
            records[n], per_frame, detector_stage = run_interval(detector, keypoints, frames, n)  # same records each round
            ms[n].append(per_frame)
            detector_ms[n].append(detector_stage)
    with tempfile.TemporaryDirectory(prefix="det-interval-") as tmp:
        gt = truth_file(truth, Path(tmp) / "truth.json")
        ap = {n: oks_eval(gt, records[n])["AP"] for n in args.intervals}
    print(f"{args.frames} frames, {detector.backend}, {THREADS} threads; {args.det_model.name} + {args.model.name}")
    for n in args.intervals:
        rounds = ", ".join(f"{v:.2f}" for v in ms[n])
        print(f"  detector every {n} frame(s): {np.median(ms[n]):.2f} ms per frame (rounds {rounds}; detector stage "
              f"{np.median(detector_ms[n]):.2f} ms), {len(records[n])} persons, AP {ap[n]:.3f}")
    print(" ".join([f"ms_interval_{n}={np.median(ms[n]):.2f}" for n in args.intervals]
                   + [f"ap_interval_{n}={ap[n]:.3f}" for n in args.intervals]))


if __name__ == "__main__":
    main()

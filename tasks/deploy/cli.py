"""``tinypose-infer``: top-down keypoints on an image, a folder of images or a video (CPU).

    tinypose-infer --model data/export/tinypose_128x96 --input photos/ --out results/
    tinypose-infer --model data/export/tinypose_128x96 --input clip.mp4 --boxes boxes.json --out results/

Writes into ``--out``: the drawn images (same file names) or the drawn video (same
name, fps and size; .avi and .mp4 are kept, other containers become .mp4), and
``keypoints.json``, a COCO results list with one record per person:
``{"image_id", "file_name" | "frame", "category_id": 1, "bbox": [x, y, w, h],
"box_score", "keypoints": [x1, y1, s1, ... x17, y17, s17], "score"}``, where ``score``
is the mean keypoint score times the box score. ``image_id`` is the frame index for a
video; for an image, the id an annotation ``--boxes`` file gives it, else its numeric
file stem (COCO's 000000397133.jpg -> 397133), else its position in the input.

Person boxes come from a ``tasks.deploy.boxes.BoxSource``: ``--boxes FILE`` (a COCO
annotation file or a COCO results list, see tasks/deploy/boxes.py), or by default the
whole image as one person.
"""
import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from tasks.annotations.coco import PERSON_ID
from tasks.common.atomic import write_json
from tasks.common.draw import draw_pose
from tasks.deploy.boxes import BoxesFile, BoxesFileError, whole_image
from tasks.deploy.media import MediaError, open_input, open_video_writer, video_output_path
from tasks.deploy.predictor import BACKENDS, KeypointPredictor
from tasks.deploy.runtimes import PARAMS_FILE, PROGRAM_FILES

EXPORT_HINT = ("make one with `luigi --module pipeline.tasks ExportInferenceModel --config "
               "configs/tinypose_128x96.yml` (it writes <data_root>/export/<name>/)")
RESULTS_NAME = "keypoints.json"


class ModelDirError(ValueError):
    """The model folder is missing or is not an exported inference model."""


def check_model_dir(model_dir):
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelDirError(f"model folder {model_dir} does not exist; {EXPORT_HINT}")
    missing = [name for name in (PARAMS_FILE, "infer_cfg.yml") if not (model_dir / name).is_file()]
    if not any((model_dir / name).is_file() for name in PROGRAM_FILES.values()):
        missing.append(" or ".join(PROGRAM_FILES.values()))
    if missing:
        raise ModelDirError(f"model folder {model_dir} lacks {', '.join(missing)}: not an exported "
                            f"inference model; {EXPORT_HINT}")
    return model_dir


def default_onnx(model_dir):
    """``model_dir/model.onnx``, else the pipeline's ExportOnnx output for ``<root>/export/<name>``
    (``<root>/onnx/<name>.onnx``) when it is newer than the export, else None (the predictor
    then converts the model on start)."""
    model_dir = Path(model_dir)
    if (model_dir / "model.onnx").is_file():
        return model_dir / "model.onnx"
    onnx = model_dir.parent.parent / "onnx" / f"{model_dir.name}.onnx"
    if model_dir.parent.name != "export" or not onnx.is_file():
        return None
    return onnx if onnx.stat().st_mtime >= (model_dir / PARAMS_FILE).stat().st_mtime else None


def coco_image_id(frame, box_source):
    if frame.is_video_frame:
        return frame.index
    known = getattr(box_source, "image_id", lambda _: None)(frame)
    if known is not None:
        return known
    stem = Path(frame.name).stem
    return int(stem) if stem.isdigit() else frame.index


def person_records(frame, image_id, boxes, keypoints):
    """COCO results records (module docstring) of one frame's persons."""
    where = {"frame": frame.index} if frame.is_video_frame else {"file_name": frame.name}
    records = []
    for box, person in zip(boxes, keypoints):
        box_score = float(box[4])
        records.append({
            "image_id": image_id, **where, "category_id": PERSON_ID,
            "bbox": [round(float(v), 2) for v in box[:4]], "box_score": round(box_score, 4),
            "keypoints": [round(float(v), 4) for v in person.reshape(-1)],
            "score": round(float(person[:, 2].mean()) * box_score, 4),
        })
    return records


def xywh_to_xyxy(boxes):
    out = np.array(boxes, dtype=np.float32).reshape(-1, 5)
    out[:, 2:4] += out[:, :2]
    return out


def run(predictor, media, box_source, out_dir, *, box_thr=0.0, score_thr=0.3, draw_boxes=False):
    """Keypoints of every frame of ``media`` (``tasks.deploy.media.open_input``) in the boxes
    ``box_source`` gives (those with score >= ``box_thr``); writes the drawn frames and
    ``keypoints.json`` into ``out_dir``. Returns a summary dict (counts, timings, paths)."""
    out_dir = Path(out_dir)
    drawn = video_output_path(media.path, out_dir) if media.is_video else out_dir
    if media.is_video and drawn.resolve() == media.path.resolve():
        raise MediaError(f"--out {out_dir} holds the input video: the drawn video would replace it")
    input_dir = media.path if media.path.is_dir() else media.path.parent
    if not media.is_video and out_dir.resolve() == input_dir.resolve():
        raise MediaError(f"--out {out_dir} is the input folder: the drawn images would replace the inputs")
    out_dir.mkdir(parents=True, exist_ok=True)
    writer = open_video_writer(drawn, media.fps, media.size) if media.is_video else None
    records, frames, persons, below_thr, seconds = [], 0, 0, 0, 0.0
    try:
        for frame in tqdm(media, total=media.total, unit="frame" if media.is_video else "image",
                          desc=media.path.name):
            boxes = np.asarray(box_source(frame), dtype=np.float32).reshape(-1, 5)
            below_thr += int((boxes[:, 4] < box_thr).sum())
            boxes = boxes[boxes[:, 4] >= box_thr]
            start = time.perf_counter()
            keypoints = predictor.predict(frame.image, boxes[:, :4])
            seconds += time.perf_counter() - start
            records += person_records(frame, coco_image_id(frame, box_source), boxes, keypoints)
            drawn_boxes = xywh_to_xyxy(boxes) if draw_boxes and len(boxes) else None
            canvas = draw_pose(frame.image, keypoints, drawn_boxes, score_thr)
            if writer is not None:
                writer.write(canvas)
            elif not cv2.imwrite(str(out_dir / frame.name), canvas):
                raise MediaError(f"cannot write drawn image {out_dir / frame.name}")
            frames += 1
            persons += len(boxes)
    finally:
        if writer is not None:
            writer.release()
    results = write_json(out_dir / RESULTS_NAME, records)
    return {"frames": frames, "persons": persons, "boxes_below_thr": below_thr,
            "ms_per_person": 1000 * seconds / persons if persons else float("nan"),
            "results": str(results), "drawn": str(drawn)}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tinypose-infer",
        description="Top-down keypoints (PP-TinyPose) on an image, a folder of images or a video, on CPU.")
    parser.add_argument("--model", required=True, type=Path,
                        help="exported model folder <data_root>/export/<name>/ (model.json and/or "
                             "model.pdmodel, model.pdiparams, infer_cfg.yml)")
    parser.add_argument("--input", "-i", required=True, type=Path,
                        help="an image, a folder of images or a video file")
    parser.add_argument("--out", "-o", required=True, type=Path, help="output folder")
    parser.add_argument("--boxes", type=Path,
                        help="person boxes: a COCO annotation file or COCO results list "
                             "(default: the whole image is one person)")
    parser.add_argument("--box-thr", type=float, default=0.5,
                        help="skip boxes with a lower score (default: %(default)s)")
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="auto (default): onnxruntime, else paddle.inference")
    parser.add_argument("--onnx", type=Path,
                        help="an ONNX file of this model (default: <model>/model.onnx, else the pipeline's "
                             "<data_root>/onnx/<name>.onnx, else converted on start)")
    parser.add_argument("--threads", type=int, default=2,
                        help="CPU threads of the runtime (default: %(default)s)")
    parser.add_argument("--score-thr", type=float, default=0.3,
                        help="keypoints drawn from this score (default: %(default)s)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        model_dir = check_model_dir(args.model)
        media = open_input(args.input)
        box_source = BoxesFile(args.boxes) if args.boxes else whole_image
        predictor = KeypointPredictor(model_dir, backend=args.backend, threads=args.threads,
                                      onnx_path=args.onnx or default_onnx(model_dir))
        summary = run(predictor, media, box_source, args.out, box_thr=args.box_thr,
                      score_thr=args.score_thr, draw_boxes=args.boxes is not None)
    except (ModelDirError, MediaError, BoxesFileError) as exc:
        raise SystemExit(f"tinypose-infer: error: {exc}") from exc
    kind = "frames" if media.is_video else "images"
    notes = []
    if media.skipped:
        notes.append(f"{len(media.skipped)} non-image files in {media.path} not read")
    if summary["boxes_below_thr"]:
        notes.append(f"{summary['boxes_below_thr']} boxes under --box-thr {args.box_thr} skipped")
    if args.boxes and box_source.matched < summary["frames"]:
        notes.append(f"{summary['frames'] - box_source.matched} {kind} not named in {args.boxes} (no person)")
    speed = f"{summary['ms_per_person']:.1f} ms/person" if summary["persons"] else "no person"
    print(f"tinypose-infer: {summary['frames']} {kind}, {summary['persons']} persons, "
          f"{speed} ({predictor.backend}, {args.threads} threads); "
          f"wrote {summary['drawn']} and {summary['results']}" + "".join(f"; {n}" for n in notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())

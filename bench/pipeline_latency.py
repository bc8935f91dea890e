"""Whole-pipeline CPU latency of detector + TinyPose (the joint command's per-frame work).

    .venv/bin/python bench/pipeline_latency.py [--iters 30] [--warmup 5] [--rounds 1] [--candidates 60]

PicoDet-S 192x192 (exported without NMS in the graph: NMS in numpy, as tinypose-infer
runs it) and TinyPose 128x96, both with synthetic weights (the networks' time does not
depend on their values; NMS's does, so the detector's class bias is set to leave
``--candidates`` boxes scoring at least 0.5 on the frame), 2 threads each, on a 640x480
frame already decoded (decoding a JPEG of that size is timed apart and listed). One frame =
detector (resize, normalize, network, NMS) + crops + TinyPose on every person in one batch +
DARK decoding, for 1 and 6 fixed person boxes (synthetic weights give arbitrary detections,
so the persons are given). Each runtime (onnxruntime, paddle.inference with oneDNN,
Paddle-Lite x86 through its persistent worker) runs in a fresh process, the same two exports
for all. Median [p10-p90] of ``--iters`` frames, and the mean time per frame of each of the
joint command's stages (its ``StageTimes``: "detector" is resize + network + NMS). With
``--rounds N`` the runtimes are measured N times in turn (on a shared machine the speed
drifts over minutes, and turns give each runtime the same drift) and each figure is the
median of the N rounds' medians. Writes bench/out/pipeline_latency.json; the last line is
``one_person_ms=... six_persons_ms=... paddle_one_person_ms=... paddle_six_persons_ms=...``
with the fastest runtime first.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # synthetic_weights: a test fixture the benches share

THREADS = 2
DET_SIZE, KPT_SIZE = [192, 192], [96, 128]  # [w, h]
FRAME_SIZE = (640, 480)
RUNTIMES = ("onnxruntime", "paddle", "lite")
PERSONS = {"one_person": 1, "six_persons": 6}
# anchors of the bench frame the detector scores at least 0.5 (--candidates): ten per person of
# the six-person case, and for one person fifteen times the most the demo's trained detector
# leaves on a sample image of 1-3 persons (0-4)
CANDIDATES = 60


def export_models(root, candidates=None):
    """The two synthetic-weight exports (+ model.onnx and, with the Lite environment, model_x86.nb
    beside each: the runtimes open files, they never convert) under ``root``. With
    ``candidates``, the detector is exported a second time with its class bias lowered so that
    that many anchors of the bench frame score at least 0.5 (``lower_class_bias``)."""
    from synthetic_weights import synthetic_model, synthetic_tinypose
    from tasks.detection.config import load_config
    from tasks.detection.model import PicoDet
    from tasks.export.inference_model import export_inference_model
    from tasks.export.layout.files import LITE_X86_FILE, ONNX_FILE
    from tasks.export.lite import convert_lite
    from tasks.export.onnx import export_onnx
    from tasks.runtime.detector_predictor import DetectorPredictor
    from tasks.runtime.lite_env import LiteEnvMissing

    det, kpt = root / "picodet_s_192", root / "tinypose_128x96"
    nms = load_config(REPO / "configs" / "picodet_s_192_pedestrian.yml")["nms"]
    detector = synthetic_model(PicoDet(), "PicoDet")

    def export_detector():
        export_inference_model(detector, det, DET_SIZE, architecture="PicoDet", nms_settings=nms, with_nms=False)

    export_detector()
    if candidates:
        image, _ = DetectorPredictor(det, backend="paddle", threads=THREADS).preprocess(frame_and_boxes()[0])
        lower_class_bias(detector, image, candidates)
        export_detector()
    export_inference_model(synthetic_tinypose(), kpt, KPT_SIZE, architecture="TinyPose")
    for folder in (det, kpt):
        export_onnx(folder, folder / ONNX_FILE)
        try:
            convert_lite(folder, folder / LITE_X86_FILE, target="x86")
        except LiteEnvMissing as exc:
            print(f"no lite runtime: {exc}")
    return det, kpt


def lower_class_bias(detector, image, count, threshold=0.5):
    """Shift the class logits of ``detector`` (a PicoDet layer) by one constant so that exactly
    ``count`` anchors of ``image`` (its preprocessed input) score at least ``threshold``.

    Synthetic weights score a large part of any frame's anchors above the box threshold (177 of
    765 on the bench frame), and NMS then works on far more candidates than a trained detector
    leaves for the persons of a frame. An anchor's score sqrt(sigmoid(class) x sigmoid(align))
    reaches ``threshold`` once the class logit is raised past a crossing point of its own; the
    shift is put halfway between the ``count``-th and the next crossing point.
    """
    import paddle

    from tasks.detection.pico_head import SCORE_EPS

    levels = detector.level_outputs(paddle.to_tensor(image))
    class_logit, align_logit = (np.concatenate([level[key].numpy().astype(np.float64).ravel() for level in levels])
                                for key in ("cls_logit", "align_logit"))
    needed = (threshold ** 2 - SCORE_EPS) * (1 + np.exp(-align_logit))  # sigmoid(class logit) to reach
    reachable = needed < 1
    needed = np.where(reachable, needed, 0.5)
    crossing = np.sort(np.where(reachable, np.log(needed / (1 - needed)) - class_logit, np.inf))
    if not np.isfinite(crossing[count]):
        raise ValueError(f"only {np.isfinite(crossing).sum()} anchors can reach {threshold}, not {count}")
    shift = (crossing[count - 1] + crossing[count]) / 2
    for conv in detector.head.head_cls_list:
        conv.bias.set_value(conv.bias.numpy() + np.float32(shift))


def frame_and_boxes():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (FRAME_SIZE[1], FRAME_SIZE[0], 3), dtype=np.uint8)
    frame = cv2.GaussianBlur(frame, (9, 9), 3)  # photo-like, so the JPEG decode time means something
    boxes = np.array([[30 + 100 * i, 60 + 20 * (i % 2), 90, 260, 0.9] for i in range(6)], np.float32)
    return frame, boxes


def measure(runtime, det_dir, kpt_dir, iters, warmup):
    """({case: [ms per frame]}, {case: {stage: mean ms per frame}}, {"candidates", "kept"}: the
    detector's boxes scoring at least 0.5 before and after NMS) for one runtime, in this process;
    the stages are the joint command's (``tasks.app.joint.STAGES``)."""
    from tasks.app.joint import JointPipeline, StageTimes
    from tasks.app.media import Frame
    from tasks.export.layout.detector_io import boxes_and_scores
    from tasks.runtime.detector_predictor import DetectorPredictor
    from tasks.runtime.keypoint_predictor import KeypointPredictor

    detector = DetectorPredictor(det_dir, backend=runtime, threads=THREADS)
    keypoints = KeypointPredictor(kpt_dir, backend=runtime, threads=THREADS)
    image, boxes = frame_and_boxes()
    frame = Frame(0, "bench.png", image)
    scores = boxes_and_scores(detector.infer(*detector.preprocess(image)))[1]
    counts = {"candidates": int((scores >= 0.5).sum()), "kept": len(detector.detect(image, min_score=0.5))}
    times, stages = {}, {}
    for case, persons in PERSONS.items():
        def source(f, n=persons):
            detector.detect(f.image, min_score=0.5)  # the detector's whole work, its boxes replaced
            return boxes[:n]
        pipeline = JointPipeline(keypoints, source)
        for _ in range(warmup):
            pipeline(frame)
        pipeline.times = StageTimes()
        times[case] = []
        for _ in range(iters):
            start = time.perf_counter()
            pipeline(frame)
            times[case].append(1000 * (time.perf_counter() - start))
        stages[case] = {name: round(1000 * seconds / iters, 2) for name, seconds in pipeline.times.seconds.items()
                        if seconds}
    return times, stages, counts


def decode_ms(iters):
    image, _ = frame_and_boxes()
    data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1]
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        cv2.imdecode(data, cv2.IMREAD_COLOR)
        times.append(1000 * (time.perf_counter() - start))
    return float(np.median(times))


def run_child(runtime, det, kpt, args):
    """One runtime measured in a fresh process: ``measure``'s times and stages, or None (printed) on failure."""
    proc = subprocess.run([sys.executable, __file__, "--iters", str(args.iters), "--warmup", str(args.warmup),
                           "--child", runtime, str(det), str(kpt)], capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        print(f"{runtime}: failed\n{(proc.stdout + proc.stderr)[-2000:]}")
        return None
    return json.loads(proc.stdout.split("RESULT ", 1)[1].splitlines()[0])


def summary(times):
    return {"median": round(float(np.median(times)), 2), "p10": round(float(np.percentile(times, 10)), 2),
            "p90": round(float(np.percentile(times, 90)), 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every runtime this many times, in turn; report the median round")
    parser.add_argument("--candidates", type=int, default=CANDIDATES,
                        help="anchors of the frame the synthetic detector scores at least 0.5 "
                             "(0: its weights as generated, 177 anchors)")
    parser.add_argument("--child", nargs=3, metavar=("RUNTIME", "DET", "KPT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        runtime, det, kpt = args.child
        times, stages, counts = measure(runtime, det, kpt, args.iters, args.warmup)
        print("RESULT " + json.dumps({"times": times, "stages": stages, "detector": counts}))
        return
    rounds = {runtime: [] for runtime in RUNTIMES}
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as tmp:
        det, kpt = export_models(Path(tmp), args.candidates)
        for round_index in range(args.rounds):
            for runtime in RUNTIMES:
                measured = run_child(runtime, det, kpt, args)
                if measured is None:
                    continue
                result = {case: {**summary(t), "stages_ms": measured["stages"][case]}
                          for case, t in measured["times"].items()}
                rounds[runtime].append(result)
                detector = measured["detector"]
                print(f"round {round_index + 1} {runtime:12s} "
                      + "  ".join(f"{case} {s['median']:.2f} ms [{s['p10']:.2f}-{s['p90']:.2f}]"
                                  for case, s in result.items())
                      + f"  (detector: {detector['candidates']} boxes >= 0.5, {detector['kept']} after NMS)")
                for case, s in result.items():
                    print(f"{'':20s} {case} stages (mean ms): "
                          + ", ".join(f"{name} {ms:.2f}" for name, ms in s["stages_ms"].items()))
    # per runtime and case: the median over rounds of the rounds' medians
    results = {runtime: {case: {"median": round(float(np.median([r[case]["median"] for r in done])), 2),
                                "round_medians": [r[case]["median"] for r in done]}
                         for case in PERSONS}
               for runtime, done in rounds.items() if done}
    for runtime, by_case in results.items():
        print(f"{runtime:12s} median of {len(rounds[runtime])} round(s): "
              + "  ".join(f"{case} {r['median']:.2f} ms {r['round_medians']}" for case, r in by_case.items()))
    decode = decode_ms(50)
    fastest = min(results, key=lambda r: results[r]["one_person"]["median"] + results[r]["six_persons"]["median"])
    report = {"threads": THREADS, "frame": list(FRAME_SIZE), "detector_candidates": args.candidates,
              "jpeg_decode_ms": round(decode, 2), "runtimes": results, "rounds": rounds, "fastest": fastest,
              "loadavg_1min_after": os.getloadavg()[0]}
    out = REPO / "bench" / "out" / "pipeline_latency.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"fastest: {fastest}; JPEG decode of the {FRAME_SIZE[0]}x{FRAME_SIZE[1]} frame (not included): "
          f"{decode:.2f} ms; load average after: {report['loadavg_1min_after']:.1f}")
    best, paddle = results[fastest], results["paddle"]
    print(f"one_person_ms={best['one_person']['median']:.2f} six_persons_ms={best['six_persons']['median']:.2f} "
          f"paddle_one_person_ms={paddle['one_person']['median']:.2f} "
          f"paddle_six_persons_ms={paddle['six_persons']['median']:.2f}")


if __name__ == "__main__":
    main()

"""Person boxes from an exported detector (PicoDet-S pedestrian), on CPU.

    detector = DetectorPredictor("<data_root>/export/picodet_s_192_sample")
    rows = detector.detect(image_bgr)          # [K, 6]: class, score, x1, y1, x2, y2 (image pixels)

Reads PaddleDetection's deploy layout (``infer_cfg.yml``: Preprocess ``Resize``
``target_size`` [h, w], ``keep_ratio`` false, ``interp``; ``NormalizeImage`` unless the
normalization is fused; ``Permute``; ``NMS``) in its two forms, told apart by the
program's inputs:

* NMS in the graph (PaddleDetection's released deploy models): inputs ``image`` and
  ``scale_factor`` (and ``im_shape`` when present), outputs ``bbox`` [K, 6] (class, score,
  x1, y1, x2, y2 in original pixels) and ``bbox_num``;
* without NMS: input ``image``, outputs decoded ``boxes`` [B, N, 4] in input pixels and
  ``scores`` [B, C, N] (PaddleDetection's order; this project's exports before issue 24 gave
  scores first: either is read, by shape); the boxes are scaled back and
  ``tasks.detection.nms.multiclass_nms`` runs with the ``NMS`` numbers of infer_cfg.yml.
"""
from pathlib import Path

import cv2
import numpy as np

from tasks.detection.nms import multiclass_nms
from tasks.export.layout.detector_io import boxes_and_scores
from tasks.export.layout.infer_cfg import read_detector_export
from tasks.runtime.image_blob import ImageBlob
from tasks.runtime.open import open_runner


class DetectorPredictor:
    """Boxes of one image from a detector export (module docstring).

    backend, threads, onnx_path, lite_python, device: as ``tasks.runtime.open.open_runner``.
    """

    def __init__(self, model_dir, backend="auto", threads=2, onnx_path=None, lite_python=None, device="cpu"):
        self.model_dir = Path(model_dir)
        cfg = read_detector_export(self.model_dir)
        self.input_size, self.interp, self.nms = cfg["input_size"], cfg["interp"], cfg["nms"]
        self._to_input = ImageBlob(cfg["normalize"])
        self.runner = open_runner(self.model_dir, backend, threads, onnx_path, lite_python, device=device)
        self.backend = self.runner.backend
        self.with_nms = "scale_factor" in self.runner.input_names
        if not self.with_nms and len(self.runner.input_names) != 1:
            raise ValueError(f"{self.model_dir}: detector inputs {self.runner.input_names}: expected 'image' "
                             "(without NMS) or 'image' + 'scale_factor' (NMS in the graph)")
        w, h = self.input_size
        self.infer(*self.preprocess(np.zeros((h, w, 3), np.uint8)))  # warm-up, and a check of the outputs

    def preprocess(self, image_bgr):
        """image [H, W, 3] uint8 BGR -> (input [1, 3, h, w] float32, scale_factor [1, 2] (y, x))."""
        height, width = image_bgr.shape[:2]
        w, h = self.input_size
        resized = cv2.resize(image_bgr, (w, h), interpolation=self.interp)
        return self._to_input([resized]), np.array([[h / height, w / width]], np.float32)

    def infer(self, image, scale_factor):
        """The runtime's raw outputs for one preprocessed image."""
        if not self.with_nms:
            return self.runner(image)
        feeds = {"image": image, "scale_factor": scale_factor,
                 "im_shape": np.array([image.shape[2:]], np.float32)}
        return self.runner(*(feeds[name] for name in self.runner.input_names))

    def postprocess(self, outputs, scale_factor, min_score=0.0):
        """Raw outputs -> [K, 6] float32 rows (class, score, x1, y1, x2, y2) in original pixels,
        scores >= ``min_score``. Without NMS in the graph, boxes under ``min_score`` are dropped
        before NMS: a box only suppresses lower-scoring ones, so the kept rows are the same."""
        if self.with_nms:
            rows, count = outputs[0], int(np.asarray(outputs[1]).reshape(-1)[0])
            rows = np.asarray(rows, np.float32).reshape(-1, 6)[:count]
            return rows[(rows[:, 0] >= 0) & (rows[:, 1] >= min_score)]
        boxes, scores = boxes_and_scores(outputs, str(self.model_dir))
        scale_y, scale_x = scale_factor[0]
        boxes = boxes[0] / np.array([scale_x, scale_y, scale_x, scale_y], np.float32)
        # multiclass_nms keeps scores > its threshold: just under min_score keeps those equal to it
        threshold = max(float(self.nms["score_threshold"]), float(np.nextafter(np.float32(min_score), -1)))
        return multiclass_nms(boxes, scores[0], score_threshold=threshold, nms_threshold=self.nms["nms_threshold"],
                              nms_top_k=self.nms["nms_top_k"], keep_top_k=self.nms["keep_top_k"])

    def best_score(self, outputs):
        """The highest person (class 0) score in raw ``outputs`` (0.0 when there is none): what a
        lower threshold would let through, for the hint when no person is found."""
        if self.with_nms:
            count = int(np.asarray(outputs[1]).reshape(-1)[0])
            rows = np.asarray(outputs[0], np.float32).reshape(-1, 6)[:count]
            scores = rows[rows[:, 0] == 0, 1]
        else:
            scores = np.asarray(boxes_and_scores(outputs, str(self.model_dir))[1])[:, 0]
        return float(scores.max()) if scores.size else 0.0

    def detect(self, image_bgr, min_score=0.0):
        """Detections of one BGR image ([K, 6] rows, ``postprocess``)."""
        image, scale_factor = self.preprocess(image_bgr)
        return self.postprocess(self.infer(image, scale_factor), scale_factor, min_score)


def person_boxes(rows):
    """Detection rows of class 0 (the person) -> [N, 5] float32 (x, y, w, h, score)."""
    rows = np.asarray(rows, np.float32).reshape(-1, 6)
    rows = rows[rows[:, 0] == 0]
    return np.concatenate([rows[:, 2:4], rows[:, 4:6] - rows[:, 2:4], rows[:, 1:2]], axis=1)

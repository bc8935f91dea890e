"""CPU top-down keypoint inference on an exported model directory.

    predictor = KeypointPredictor("<data_root>/models/tinypose_128x96/inference")
    keypoints = predictor.predict(image_bgr, boxes_xywh)   # [P, 17, 3]: x, y, score

The runtime is onnxruntime by default, the fastest measured here (bench/RESULTS.md,
bench/deploy_latency.py); paddle.inference (oneDNN) is the fallback when there is no ONNX
file or onnxruntime cannot run it; Paddle-Lite on request (``tasks.runtime.open``).
The crop and the decoding reuse the training code in tasks/keypoint, with the codec and the
options the model was trained and evaluated with (infer_cfg.yml's ``export.decode``), so
deployment sees what evaluation saw; normalization is ``tasks.runtime.image_blob``.
"""
from pathlib import Path

import numpy as np

from tasks.export.layout.infer_cfg import read_keypoint_export
from tasks.keypoint.codecs import CODECS
from tasks.keypoint.geometry import boxes_to_centers_scales, to_image_coords
from tasks.keypoint.transforms import TopDownAffine
from tasks.runtime.image_blob import ImageBlob
from tasks.runtime.open import BACKENDS, open_runner


class KeypointPredictor:
    """Keypoints of the persons in given boxes.

    model_dir: an ``export_inference_model`` output (model.json and/or model.pdmodel,
        model.pdiparams, infer_cfg.yml).
    backend: "auto" (onnxruntime, else paddle.inference), "onnxruntime", "paddle" or "lite".
    device: "cpu" or "gpu" (``tasks.runtime.open.open_runner``).
    onnx_path: an existing ONNX file of this model; by default ``model_dir/model.onnx`` or the
        pipeline's ``<root>/onnx/<name>.onnx`` when it exists.
    Decoding (``read_keypoint_export``'s "decode"): the codec, and ``udp_backproject``: False maps
    crops back as PaddleDetection's deploy code does, True with the exact UDP inverse.
    """

    def __init__(self, model_dir, backend="auto", threads=2, onnx_path=None, lite_python=None, device="cpu"):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.model_dir = Path(model_dir)
        export = read_keypoint_export(self.model_dir)
        self.input_size, self.decode = tuple(export["input_size"]), export["decode"]
        self._crop = TopDownAffine(self.input_size, pixel_std=self.decode["pixel_std"])
        self._to_input = ImageBlob(export["normalize"])
        # crops come in batches: onnxruntime runs them split over the threads (OnnxRunner)
        self.runner = open_runner(self.model_dir, backend, threads, onnx_path, lite_python, split_batch=True,
                                  device=device)
        self.backend = self.runner.backend
        # One run on a blank crop: warms the runtime up and tells the joint count.
        w, h = self.input_size
        self.num_joints = self.runner(np.zeros((1, 3, h, w), dtype=np.float32))[0].shape[1]

    def preprocess(self, image_bgr, boxes):
        """image [H, W, 3] uint8 BGR, boxes [P, 4] (x, y, w, h) -> (input [P, 3, h, w], centers, scales)."""
        image_bgr = np.asarray(image_bgr)
        centers, scales = boxes_to_centers_scales(boxes, self.input_size, pixel_std=self.decode["pixel_std"])
        # the warp treats channels alike: crop the BGR frame, swap to RGB in the crop only
        crops = [self._crop({"image": image_bgr, "center": center, "scale": scale})["image"]
                 for center, scale in zip(centers, scales)]
        return self._to_input(crops), centers, scales

    def predict(self, image_bgr, boxes):
        """image [H, W, 3] uint8 BGR, boxes [P, 4] COCO (x, y, w, h) -> keypoints [P, K, 3] float32
        (x, y in image pixels, score = heatmap maximum); no box gives [0, K, 3]."""
        if len(boxes) == 0:
            return np.zeros((0, self.num_joints, 3), dtype=np.float32)
        images, centers, scales = self.preprocess(image_bgr, boxes)
        return self.postprocess(self.runner(images)[0], centers, scales)

    def postprocess(self, heatmaps, centers, scales):
        """heatmaps [P, K, h, w] and the crops' centers and scales -> keypoints [P, K, 3] (``predict``)."""
        codec = CODECS.get(self.decode["codec"]).for_decoding(self.input_size, (heatmaps.shape[3], heatmaps.shape[2]))
        crop_xy, scores = codec.decode(heatmaps)
        image_xy = to_image_coords(crop_xy, centers, scales, self.input_size,
                                   use_udp=self.decode["udp_backproject"], pixel_std=self.decode["pixel_std"])
        return np.concatenate([image_xy, scores[..., None]], axis=-1).astype(np.float32)

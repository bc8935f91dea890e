"""A model trained with UDPHeatmap is decoded at deploy time as evaluation decodes it: the codec
and its options travel in infer_cfg.yml (``export.decode``), and every runtime reads them."""
from pathlib import Path

import numpy as np
import pytest

from keypoint_tiny_data import make_tiny_coco
from tasks.common.weights import load_state
from tasks.export.artifacts import export_model
from tasks.export.layout.infer_cfg import DEFAULT_KEYPOINT_DECODE, read_keypoint_export
from tasks.keypoint.builders import build_dataset
from tasks.keypoint.config import deep_merge, load_config, validate_config
from tasks.keypoint.evaluate import predict_gt_boxes
from tasks.keypoint.train import train
from tasks.models import build_model
from tasks.runtime.keypoint_predictor import KeypointPredictor

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow   # trains a model
UDP = {"codec": {"type": "UDPHeatmap", "sigma": 2}, "eval": {"udp_backproject": True}}


@pytest.fixture(scope="module")
def udp_model(tmp_path_factory):
    """TinyPose trained 20 steps on two images with UDPHeatmap targets, exported."""
    root = tmp_path_factory.mktemp("udp")
    ann, images = make_tiny_coco(root / "data", num_images=2)
    base = load_config(ROOT / "configs" / "tinypose_128x96_sample.yml")
    no_augment = [step for step in base["data"]["train_pipeline"]
                  if step["type"] not in ("RandomFlipHalfBody", "InformationDropping")]
    config = validate_config(deep_merge(base, {
        **UDP, "name": "tinypose_udp", "data": {"num_workers": 0, "train_pipeline": no_augment},
        "train": {"epochs": 20, "batch_size": 4, "snapshot_epoch": 100},
        "optimizer": {"base_lr": 0.008, "warmup_steps": 2, "milestones": [1000]}}), source="UDP test config")
    train(config, ann, images, root / "train", progress=False)
    weights = root / "train" / "model_final.pdparams"
    export_model(config, weights, root / "export", check_images={"val_ann": ann, "image_root": images})
    return {"config": config, "weights": weights, "ann": ann, "images": images, "export": root / "export"}


def evaluation_keypoints(udp_model):
    """What evaluation computes (dygraph, no flip: the deployed model does not flip): per person
    (image file, box, keypoints [17, 3])."""
    config = udp_model["config"]
    dataset = build_dataset(config, udp_model["ann"], udp_model["images"], train=False)
    model = build_model(config)
    load_state(model, str(udp_model["weights"]))
    found = predict_gt_boxes(config, model, dataset, flip_test=False, progress=False)
    by_ann = {record["ann_id"]: record for record in dataset.records}
    return [(by_ann[ann_id]["image_file"], by_ann[ann_id]["bbox"], keypoints)
            for ann_id, keypoints in zip(found["ann_id"], found["keypoints"])]


def test_infer_cfg_records_the_codec(udp_model):
    decode = read_keypoint_export(udp_model["export"])["decode"]
    assert decode == {"codec": "UDPHeatmap", "udp_backproject": True, "pixel_std": 200.0}
    assert decode != DEFAULT_KEYPOINT_DECODE


@pytest.mark.parametrize("backend", ["paddle", "onnxruntime"])
def test_deployed_keypoints_equal_the_evaluation(udp_model, backend, tmp_path):
    import cv2

    from tasks.export.onnx import export_onnx

    if backend == "onnxruntime":
        export_onnx(udp_model["export"], udp_model["export"] / "model.onnx")
    predictor = KeypointPredictor(udp_model["export"], backend=backend, threads=1)
    persons = evaluation_keypoints(udp_model)
    assert len(persons) >= 2
    for image_file, box, expected in persons:
        deployed = predictor.predict(cv2.imread(str(image_file)), np.array([box], np.float32))[0]
        np.testing.assert_allclose(deployed[:, :2], expected[:, :2], atol=0.02, rtol=0)
        np.testing.assert_allclose(deployed[:, 2], expected[:, 2], atol=1e-3, rtol=0)
    # decoded as a DarkHeatmap model (what deploy did before infer_cfg.yml said), they would not be
    predictor.decode = dict(DEFAULT_KEYPOINT_DECODE)
    image_file, box, expected = persons[0]
    wrong = predictor.predict(cv2.imread(str(image_file)), np.array([box], np.float32))[0]
    assert np.abs(wrong[:, :2] - expected[:, :2]).max() > 0.5

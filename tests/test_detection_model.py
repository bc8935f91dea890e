"""PicoDet-S network: PaddleDetection's parameter list, its raw and decoded outputs, the loss inputs, export."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest

from reference import assert_parity, load_npz, make_input, params_list, reference_weights
from tasks.common.weights import alias_groups, load_state
from tasks.detection.lc_pan import DPModule
from tasks.detection.model import PicoDet

MODELS = ["picodet_s_192_lcnet_pedestrian", "picodet_s_320_lcnet_pedestrian"]
LOSS_INPUT_KEYS = {"pred_scores", "pred_regs", "pred_bboxes", "anchors", "anchor_points", "stride_tensor",
                   "num_anchors_list"}
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def reference_model():
    """model name -> PicoDet in eval mode with that case's reference weights (built once)."""
    built = {}

    def get(name):
        if name not in built:
            model = PicoDet()
            report = load_state(model, reference_weights(name))
            assert report.ok and not report.missing and not report.unexpected
            model.eval()
            built[name] = model
        return built[name]
    return get


def level_outputs(model, x):
    with paddle.no_grad():
        levels = model.level_outputs(paddle.to_tensor(x))
    return {f"level{i}_stride{stride}/{key}": value.numpy()
            for i, (level, stride) in enumerate(zip(levels, model.strides)) for key, value in level.items()}


def test_state_dict_equals_paddledetection_list():
    reference = params_list(MODELS[0])
    model = PicoDet()
    entries = [[name, list(t.shape), str(t.dtype).replace("paddle.", "")] for name, t in model.state_dict().items()]
    assert len(entries) == reference["num_state_dict_entries"] == 463
    assert entries == reference["state_dict"]  # names, shapes, dtypes and order
    assert params_list(MODELS[1])["state_dict"] == reference["state_dict"]  # one network for both sizes

    trainable = sum(int(np.prod(p.shape)) for p in model.parameters() if not p.stop_gradient)
    assert trainable == reference["trainable_parameter_count"] == 1_155_844
    # each head_cls/head_reg conv is one tensor under two names, as in PaddleDetection
    shared = [names for _, names in alias_groups(model) if len(names) > 1]
    assert shared == reference["alias_groups"]
    assert model.head.head_cls2 is model.head.head_cls_list[2]


@pytest.mark.parametrize("name", MODELS)
def test_outputs_equal_reference(reference_model, name):
    model, x, reference = reference_model(name), make_input(name), load_npz(f"parity_{name}")
    with paddle.no_grad():
        scores, boxes = model(paddle.to_tensor(x))  # eval mode, export_post_process
    n = sum(int(np.prod(reference[f"level{i}_stride{s}/cls_score"].shape[2:])) for i, s in enumerate(model.strides))
    assert scores.shape == [1, 1, n] and boxes.shape == [1, n, 4]
    diffs = assert_parity(reference, {**level_outputs(model, x), "decoded_scores": scores.numpy(),
                                      "decoded_boxes": boxes.numpy()})
    assert len(diffs) == 4 * 4 + 2


def test_export_layout_without_post_processing(reference_model):
    name = MODELS[0]
    model, x = reference_model(name), make_input(name)
    expected = level_outputs(model, x)
    model.export_post_process = False
    try:
        with paddle.no_grad():
            scores, bins = model(paddle.to_tensor(x))
    finally:
        model.export_post_process = True
    assert len(scores) == len(bins) == 4
    for i, stride in enumerate(model.strides):
        h, w = expected[f"level{i}_stride{stride}/cls_score"].shape[2:]
        assert scores[i].shape == [1, h * w, 1] and bins[i].shape == [1, h * w, 32]
        np.testing.assert_array_equal(scores[i].numpy()[0, :, 0],
                                      expected[f"level{i}_stride{stride}/cls_score"].ravel())
        np.testing.assert_array_equal(bins[i].numpy()[0].T,
                                      expected[f"level{i}_stride{stride}/reg_dist"].reshape(32, h * w))


@pytest.mark.parametrize("name", MODELS)
def test_forward_train_equals_loss_oracle(reference_model, name):
    model, oracle = reference_model(name), load_npz(f"picodet_loss_{name}")
    with paddle.no_grad():
        outputs = model.forward_train(paddle.to_tensor(oracle["input"]))
    assert set(outputs) == LOSS_INPUT_KEYS
    assert outputs["num_anchors_list"] == oracle["num_anchors_list"].tolist()
    for key, atol in [("pred_scores", 1e-4), ("pred_regs", 1e-4), ("pred_bboxes", 1e-3), ("anchors", 1e-3),
                      ("stride_tensor", 0)]:
        value = outputs[key].numpy()
        assert value.shape == oracle[key].shape, key
        np.testing.assert_allclose(value, oracle[key], atol=atol, rtol=0, err_msg=key)
    # anchor points are the anchors' centres
    anchors = oracle["anchors"]
    np.testing.assert_array_equal(outputs["anchor_points"].numpy(), (anchors[:, :2] + anchors[:, 2:]) / 2)


def test_train_mode_gives_loss_inputs_and_gradients():
    model = PicoDet()
    model.train()
    x = paddle.to_tensor(np.random.default_rng(1).standard_normal((2, 3, 160, 224)).astype(np.float32))
    outputs = model(x)  # training mode: forward == forward_train
    assert set(outputs) == LOSS_INPUT_KEYS
    # 160x224: levels 20x28, 10x14, 5x7 and the extra 3x4
    assert outputs["num_anchors_list"] == [560, 140, 35, 12]
    n = 747
    assert outputs["pred_scores"].shape == [2, n, 1] and outputs["pred_regs"].shape == [2, n, 32]
    assert outputs["pred_bboxes"].shape == [2, n, 4] and outputs["anchors"].shape == [n, 4]
    stride = outputs["stride_tensor"].numpy()
    assert stride[0, 0] == 8 and stride[-1, 0] == 64
    side = outputs["anchors"].numpy()[:, 2:] - outputs["anchors"].numpy()[:, :2]
    np.testing.assert_array_equal(side, np.repeat(5 * stride, 2, axis=1))  # grid_cell_scale 5
    np.testing.assert_array_equal(outputs["anchor_points"].numpy()[0], [4, 4])  # (col + 0.5) * 8
    scores = outputs["pred_scores"].numpy()
    assert np.all((scores > 0) & (scores < 1))
    (outputs["pred_scores"].sum() + outputs["pred_bboxes"].abs().mean()).backward()
    assert float(model.backbone.conv1.conv.weight.grad.abs().sum()) > 0
    assert float(model.head.head_reg0.weight.grad.abs().sum()) > 0  # the alias carries the gradient


@pytest.mark.parametrize("in_channels, out_channels", [(96, 1), (8, 2)])
def test_dp_module_with_multichannel_groups_equals_its_grouped_conv(in_channels, out_channels):
    """cls_align's 96 -> 1 k x k conv runs as depthwise + group sum: same outputs, same gradients."""
    paddle.seed(0)
    module = DPModule(in_channels, out_channels, 5)
    x = paddle.randn([2, in_channels, 12, 10])
    grads = []
    for conv in (module.dwconv, module._grouped_conv):
        module.dwconv.weight.clear_gradient()
        out = conv(x)
        (out * paddle.arange(out.size, dtype="float32").reshape(out.shape)).sum().backward()
        grads.append((out.numpy(), module.dwconv.weight.grad.numpy()))
    (plain, plain_grad), (grouped, grouped_grad) = grads
    np.testing.assert_allclose(grouped, plain, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grouped_grad, plain_grad, rtol=1e-4, atol=1e-3)


def test_input_size_not_multiple_of_32_is_refused():
    model = PicoDet()
    model.eval()
    with pytest.raises(ValueError, match="multiples of 32.*200"):
        model(paddle.zeros([1, 3, 200, 192]))


EXPORT_CHILD = """
import sys
import paddle
from reference import reference_weights
from tasks.common.weights import load_state
from tasks.detection.model import PicoDet

out_dir, name, size, variants = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(",")
for variant in variants:  # "decoded": export_post_process, "raw": without
    model = PicoDet(export_post_process=variant == "decoded")
    load_state(model, reference_weights(name))
    model.eval()
    spec = [paddle.static.InputSpec([None, 3, size, size], "float32", "image")]
    paddle.jit.save(paddle.jit.to_static(model, input_spec=spec, full_graph=True), f"{out_dir}/{variant}/model")
"""


def export(out_dir, name, size, variants, pir):
    env = dict(os.environ, FLAGS_enable_pir_api="1" if pir else "0",
               PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "tests"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", EXPORT_CHILD, str(out_dir), name, str(size), ",".join(variants)], env=env,
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]


def exported_outputs(scores_and_boxes, strides, reference):
    """Runtime outputs named as in the parity file: decoded (2 outputs) or raw (4 scores + 4 bins)."""
    if len(scores_and_boxes) == 2:
        return {"decoded_scores": scores_and_boxes[0], "decoded_boxes": scores_and_boxes[1]}
    named = {}
    for i, stride in enumerate(strides):
        key = f"level{i}_stride{stride}"
        h, w = reference[f"{key}/cls_score"].shape[2:]
        named[f"{key}/cls_score"] = scores_and_boxes[i].transpose(0, 2, 1).reshape(1, 1, h, w)
        named[f"{key}/reg_dist"] = scores_and_boxes[4 + i].transpose(0, 2, 1).reshape(1, 32, h, w)
    return named


@pytest.mark.slow
def test_export_legacy_and_pir_reproduce_reference(tmp_path):
    """Legacy program (Paddle-Lite's input): paddle.inference with oneDNN and onnxruntime after paddle2onnx
    give the reference outputs; the PIR program too (oneDNN included: no float64 array attributes)."""
    from paddle import inference

    from tasks.export.onnx import export_onnx
    from tasks.runtime.runners import OnnxRunner, PaddleInferenceRunner

    name = MODELS[0]
    x, reference, strides = make_input(name), load_npz(f"parity_{name}"), PicoDet().strides
    export(tmp_path / "legacy", name, 192, ("decoded", "raw"), pir=False)
    for variant in ("decoded", "raw"):
        model_dir = tmp_path / "legacy" / variant
        assert (model_dir / "model.pdmodel").is_file() and not (model_dir / "model.json").exists()
        assert_parity(reference, exported_outputs(PaddleInferenceRunner(model_dir)(x), strides, reference))
        export_onnx(model_dir, model_dir / "model.onnx")
        assert_parity(reference, exported_outputs(OnnxRunner(model_dir / "model.onnx")(x), strides, reference))

    export(tmp_path / "pir", name, 192, ("decoded",), pir=True)
    model_dir = tmp_path / "pir" / "decoded"
    config = inference.Config(str(model_dir / "model.json"), str(model_dir / "model.pdiparams"))
    config.disable_gpu()
    config.enable_mkldnn()
    config.disable_glog_info()
    predictor = inference.create_predictor(config)
    predictor.get_input_handle(predictor.get_input_names()[0]).copy_from_cpu(x)
    predictor.run()
    outputs = [predictor.get_output_handle(n).copy_to_cpu() for n in predictor.get_output_names()]
    assert_parity(reference, exported_outputs(outputs, strides, reference))

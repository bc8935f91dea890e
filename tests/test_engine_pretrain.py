"""Pretrain weights (`train.pretrain_weights`): a PaddleClas PP-LCNet x0.75 ImageNet file fills the
detector's backbone by name suffix, as PaddleDetection loads it; fetched offline (file://, loopback
HTTP) with the first download's sha256 recorded."""
import hashlib

import numpy as np
import paddle
import pytest

from datasets_http import LoopbackServer, Route
from tasks.common.pretrain_weights import load_pretrain_weights
from tasks.datasets.download import DownloadError
from tasks.engine.pretrain import locate_pretrain_weights, pretrain_sha256
from tasks.models import build_model, load_model_config
from pipeline_helpers import SAMPLE_DETECTOR

# PaddleClas ppcls/arch/backbone/legendary_models/pp_lcnet.py, NET_CONFIG: [kernel, in, out, stride, se]
NET_CONFIG = {
    "blocks2": [[3, 16, 32, 1, False]],
    "blocks3": [[3, 32, 64, 2, False], [3, 64, 64, 1, False]],
    "blocks4": [[3, 64, 128, 2, False], [3, 128, 128, 1, False]],
    "blocks5": [[3, 128, 256, 2, False]] + [[5, 256, 256, 1, False]] * 5,
    "blocks6": [[5, 256, 512, 2, True], [5, 512, 512, 1, True]],
}


def divisible(v, divisor=8):
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def conv_bn(prefix, cin, cout, k, groups=1):
    shapes = {f"{prefix}.conv.weight": [cout, cin // groups, k, k]}
    shapes.update({f"{prefix}.bn.{n}": [cout] for n in ("weight", "bias", "_mean", "_variance")})
    return shapes


def pplcnet_shapes(scale=0.75, class_expand=1280, classes=1000) -> dict:
    """Names and shapes of PaddleClas' PPLCNet_x0_75 state dict (with its classifier head)."""
    shapes = conv_bn("conv1", 3, divisible(16 * scale), 3)
    for stage, blocks in NET_CONFIG.items():
        for i, (k, cin, cout, _, se) in enumerate(blocks):
            cin, cout = divisible(cin * scale), divisible(cout * scale)
            shapes.update(conv_bn(f"{stage}.{i}.dw_conv", cin, cin, k, groups=cin))
            if se:
                shapes.update({f"{stage}.{i}.se.conv1.weight": [cin // 4, cin, 1, 1], f"{stage}.{i}.se.conv1.bias": [cin // 4],
                               f"{stage}.{i}.se.conv2.weight": [cin, cin // 4, 1, 1], f"{stage}.{i}.se.conv2.bias": [cin]})
            shapes.update(conv_bn(f"{stage}.{i}.pw_conv", cin, cout, 1))
    last = divisible(512 * scale)
    shapes.update({"last_conv.weight": [class_expand, last, 1, 1], "fc.weight": [class_expand, classes],
                   "fc.bias": [classes]})
    return shapes


def save_pplcnet(path, shapes=None):
    rng = np.random.default_rng(0)
    state = {name: rng.standard_normal(shape).astype("float32") for name, shape in (shapes or pplcnet_shapes()).items()}
    paddle.save(state, str(path))
    return state


@pytest.fixture
def detector():
    return build_model(load_model_config(SAMPLE_DETECTOR))


def test_every_backbone_parameter_comes_from_the_imagenet_file(tmp_path, detector):
    state = save_pplcnet(tmp_path / "PPLCNet_x0_75_pretrained.pdparams")
    report = load_pretrain_weights(detector, tmp_path / "PPLCNet_x0_75_pretrained.pdparams")
    model_state = detector.state_dict()
    backbone = [name for name in model_state if name.startswith("backbone.")]
    assert sorted(report.loaded) == sorted(backbone)
    for name in backbone:
        np.testing.assert_array_equal(model_state[name].numpy(), state[name[len("backbone."):]])
    assert report.ignored == ["fc.bias", "fc.weight", "last_conv.weight"]   # the classifier head
    # fc.weight / fc.bias end the head's SE layers' names too, with other shapes: refused, as in PaddleDetection
    assert report.refused and all(w in ("fc.weight", "fc.bias") and m.startswith("head.conv_feat.se.")
                                  and m.endswith("." + w) for m, w, _, _ in report.refused)
    assert report.initialised and not any(n.startswith("backbone.") for n in report.initialised)


def test_a_wrong_shape_is_refused_by_name(tmp_path, detector, caplog):
    shapes = pplcnet_shapes()
    shapes["blocks4.1.pw_conv.conv.weight"] = [64, 96, 1, 1]
    save_pplcnet(tmp_path / "bad.pdparams", shapes)
    before = detector.state_dict()["backbone.blocks4.1.pw_conv.conv.weight"].numpy().copy()
    report = load_pretrain_weights(detector, tmp_path / "bad.pdparams")
    assert ("backbone.blocks4.1.pw_conv.conv.weight", "blocks4.1.pw_conv.conv.weight", (96, 96, 1, 1),
            (64, 96, 1, 1)) in report.refused
    assert "backbone.blocks4.1.pw_conv.conv.weight" in report.initialised
    np.testing.assert_array_equal(detector.state_dict()["backbone.blocks4.1.pw_conv.conv.weight"].numpy(), before)
    assert "blocks4.1.pw_conv.conv.weight [64, 96, 1, 1] for backbone.blocks4.1.pw_conv.conv.weight" in caplog.text


def test_a_file_for_another_model_is_refused(tmp_path, detector):
    paddle.save({"head.fc.weight": np.zeros((2, 2), "float32")}, str(tmp_path / "other.pdparams"))
    with pytest.raises(ValueError, match="none of its 1 names"):
        load_pretrain_weights(detector, tmp_path / "other.pdparams")


def test_local_file_is_used_in_place(tmp_path):
    data = b"weights"
    (tmp_path / "w.pdparams").write_bytes(data)
    path, sha = locate_pretrain_weights({"pretrain_weights": (tmp_path / "w.pdparams").as_uri()}, tmp_path / "dl")
    assert path == tmp_path / "w.pdparams" and sha == hashlib.sha256(data).hexdigest()
    assert not (tmp_path / "dl").exists()
    with pytest.raises(DownloadError, match="sha256"):
        locate_pretrain_weights({"pretrain_weights": str(path), "pretrain_weights_sha256": "0" * 64}, tmp_path)


def test_http_download_resumes_records_its_sha256_and_refuses_a_changed_file(tmp_path):
    data = bytes(range(256)) * 400
    with LoopbackServer() as server:
        server.routes["/m/PPLCNet_x0_75_pretrained.pdparams"] = Route(data, cut_after=30000)
        cfg = {"pretrain_weights": server.url("/m/PPLCNet_x0_75_pretrained.pdparams")}
        assert pretrain_sha256(cfg, tmp_path) is None          # nothing recorded before the first download
        path, sha = locate_pretrain_weights(cfg, tmp_path)
        assert len(server.requests_for("/m/PPLCNet_x0_75_pretrained.pdparams")) == 2   # cut, then resumed
    assert path.read_bytes() == data and sha == hashlib.sha256(data).hexdigest()
    assert pretrain_sha256(cfg, tmp_path) == sha                # recorded: part of the training signature
    assert locate_pretrain_weights(cfg, tmp_path) == (path, sha)   # no server needed any more
    path.write_bytes(data[:-1])
    with pytest.raises(DownloadError, match="first download"):
        locate_pretrain_weights(cfg, tmp_path)

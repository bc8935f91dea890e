"""PP-TinyPose: LiteHRNet backbone + 1x1 conv to one heatmap per joint.

Same network and parameter names as PaddleDetection's TopDownHRNet with
`LiteHRNet(network_type=wider_naive)` and `width: 40` (configs/keypoint/tiny_pose/).
Only the raw network lives here; flip test and decoding are separate steps.
"""
import paddle.nn as nn
from paddle import ParamAttr
from paddle.nn.initializer import Constant, Normal

from tasks.keypoint.lite_hrnet import LiteHRNet


class TinyPose(nn.Layer):
    """forward(image [N,3,H,W] float32, already normalized) -> heatmaps [N, num_joints, H/4, W/4]."""

    def __init__(self, num_joints=17, width=40, network_type="wider_naive"):
        super().__init__()
        self.num_joints = num_joints
        self.backbone = LiteHRNet(network_type)
        if width != self.backbone.out_channels[0]:
            raise ValueError(f"TinyPose: width {width} does not match the {network_type!r} backbone, "
                             f"whose highest-resolution branch has {self.backbone.out_channels[0]} channels")
        # initialised as PaddleDetection's (N(0, 0.001) weights, zero bias)
        self.final_conv = nn.Conv2D(width, num_joints, 1,
                                    weight_attr=ParamAttr(initializer=Normal(0.0, 0.001)),
                                    bias_attr=ParamAttr(initializer=Constant(0.0)))

    def forward(self, image):
        return self.final_conv(self.backbone(image)[0])

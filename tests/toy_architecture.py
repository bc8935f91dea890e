"""A third architecture, registered from the tests folder only: ``ToyHeatmapNet``, a keypoint
model of three convolutions (input / 4 heatmaps). Its configs name this module under
``custom_imports``, so every process that reads one (export processes included) registers it.
docs/adding-a-model.md walks through the same steps."""
import paddle.nn as nn

from tasks.keypoint.config import load_config
from tasks.models import KEYPOINT, ArchitectureSpec, register_architecture

NAME = "ToyHeatmapNet"


class ToyHeatmapNet(nn.Layer):
    """[N, 3, h, w] normalized RGB -> heatmaps [N, num_joints, h / 4, w / 4]."""

    def __init__(self, num_joints, width):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2D(3, width, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.Conv2D(width, width, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.Conv2D(width, num_joints, 1))

    def forward(self, images):
        return self.body(images)


def build_toy(config):
    return ToyHeatmapNet(config["model"]["num_joints"], config["model"]["width"])


SPEC = register_architecture(ArchitectureSpec(NAME, KEYPOINT, load_config, build_toy))

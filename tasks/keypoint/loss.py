"""Heatmap loss of PP-TinyPose (PaddleDetection's KeyPointMSELoss)."""
import paddle.nn as nn


class KeypointMSELoss(nn.Layer):
    """Mean squared heatmap error, each joint's map scaled by its target weight.

    forward(pred [N,J,h,w], target [N,J,h,w], target_weight [N,J,1]) -> scalar:

        loss_scale * mean over n, j, pixels of (w[n,j] * (pred - target))**2

    PaddleDetection computes loss_scale * MSE per joint, sums over joints and
    divides by J; every joint has the same pixel count, so that is the mean
    above. Its class default is loss_scale=0.5, but the TinyPose configs set
    `loss_scale: 1.0`, so pass 1.0 to reproduce their training.
    """

    def __init__(self, use_target_weight=True, loss_scale=0.5):
        super().__init__()
        self.use_target_weight = use_target_weight
        self.loss_scale = loss_scale

    def forward(self, pred, target, target_weight=None):
        diff = pred - target
        if self.use_target_weight:
            if target_weight is None:
                raise ValueError("KeypointMSELoss(use_target_weight=True) needs target_weight [N,J,1]")
            diff = diff * target_weight.reshape([target_weight.shape[0], target_weight.shape[1], 1, 1])
        return self.loss_scale * (diff * diff).mean()

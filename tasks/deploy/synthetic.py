"""A TinyPose with deterministic synthetic weights for deploy checks and benchmarks
(no training, no download): heatmaps of std ~10 that clearly depend on the input."""
import paddle

from tasks.common.synthetic_weights import GAIN, synthetic_state


def synthetic_model(model, architecture: str):
    """`model` in eval mode with ``synthetic_state`` weights (gain of `architecture`)."""
    state = synthetic_state(model, GAIN[architecture])
    model.set_state_dict({name: paddle.to_tensor(value) for name, value in state.items()})
    model.eval()
    return model


def synthetic_tinypose(**kwargs):
    """TinyPose(**kwargs) in eval mode with synthetic weights."""
    from tasks.keypoint.model import TinyPose
    return synthetic_model(TinyPose(**kwargs), "TopDownHRNet")

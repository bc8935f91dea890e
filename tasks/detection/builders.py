"""From a loaded PicoDet config (tasks.detection.config) to its network and loss."""
from tasks.detection.losses import PicoDetLoss
from tasks.detection.model import PicoDet


def build_model(config, export_post_process=True) -> PicoDet:
    """The network of ``config["model"]`` (``input_size`` is the data's business, not the network's)."""
    model = config["model"]
    return PicoDet(num_classes=model["num_classes"], scale=model["scale"], feature_maps=tuple(model["feature_maps"]),
                   neck_channels=model["neck_channels"], num_levels=model["num_levels"], reg_max=model["reg_max"],
                   cell_offset=model["cell_offset"], grid_cell_scale=model["grid_cell_scale"],
                   export_post_process=export_post_process)


def build_loss(config) -> PicoDetLoss:
    """PicoHeadV2's loss with the config's ``loss`` numbers."""
    return PicoDetLoss(num_classes=config["model"]["num_classes"], reg_max=config["model"]["reg_max"],
                       **config["loss"])

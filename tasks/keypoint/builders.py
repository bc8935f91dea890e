"""Config dict (tasks.keypoint.config) -> model, codec, transforms, datasets."""

from tasks.keypoint.codecs import CODECS
from tasks.keypoint.dataset import TopDownCocoDataset
from tasks.keypoint.model import TinyPose
from tasks.keypoint.transforms import TRANSFORMS
from tasks.transforms import Compose


def build_model(config) -> TinyPose:
    return TinyPose(config["model"]["num_joints"], config["model"]["width"])


def build_codec(config):
    """The config's ``codec`` entry (PP-TinyPose: DarkHeatmap, PaddleDetection's
    ToHeatmapsTopDown_DARK + DARK decoding) at the model's input and heatmap sizes."""
    model = config["model"]
    return CODECS.build(config["codec"], defaults={"input_size": model["input_size"],
                                                   "heatmap_size": model["heatmap_size"]}, where="codec")


def build_transforms(config, train: bool) -> Compose:
    """``data.train_pipeline`` or ``data.eval_pipeline`` as a ``Compose``.

    Arguments an entry leaves out are taken from the config where it holds them:
    input_size and flip_pairs (model), pixel_std, mean and std (data), the codec.
    """
    model, data = config["model"], config["data"]
    name = "train_pipeline" if train else "eval_pipeline"
    defaults = {"input_size": model["input_size"], "flip_pairs": model["flip_pairs"],
                "pixel_std": data["pixel_std"], "mean": data["mean"], "std": data["std"]}
    if train:
        defaults["codec"] = build_codec(config)
    return Compose(TRANSFORMS.build_all(data[name], defaults, where=f"data/{name}"))


def build_dataset(config, ann_file, image_root, train: bool) -> TopDownCocoDataset:
    """Person dataset over a COCO keypoint file; training samples are seeded by (seed, epoch, index)."""
    transforms = build_transforms(config, train)
    return TopDownCocoDataset(ann_file, image_root, config["model"]["input_size"], transforms,
                              num_joints=config["model"]["num_joints"], pixel_std=config["data"]["pixel_std"],
                              padding=config["data"]["bbox_padding"],
                              seed=int(config["train"]["seed"]) if train else None)

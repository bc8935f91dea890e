"""Where things are: the official archive layouts and the data-root layout.

One module for the names that the nodes, the datasets config, the sample generator
and the converters must agree on.
"""

#: Each known archive as (dataset, archive) -> the globs of its official layout, used
#: where configs/datasets.yml gives none.
ARCHIVE_LAYOUTS = {
    ("coco", "train2017"): {"images": "train2017"},
    ("coco", "val2017"): {"images": "val2017"},
    ("coco", "annotations_trainval2017"): {"files": {
        "train": "annotations/person_keypoints_train2017.json",
        "val": "annotations/person_keypoints_val2017.json"}},
    ("aic", "keypoint_train"): {
        "images": "ai_challenger_keypoint_train_20170902/keypoint_train_images_20170902",
        "annotations": "ai_challenger_keypoint_train_20170902/"
                       "keypoint_train_annotations_20170909.json"},
    ("aic", "keypoint_validation"): {
        "images": "ai_challenger_keypoint_validation_20170911/"
                  "keypoint_validation_images_20170911",
        "annotations": "ai_challenger_keypoint_validation_20170911/"
                       "keypoint_validation_annotations_20170911.json"},
}

#: Where each archive's image folder is linked under the data root. The merged file's
#: `file_name`s start with these prefixes (`coco/train2017/...`, `aic/train/<sha1>.jpg`).
IMAGE_LINKS = {
    ("coco", "train2017"): "coco/train2017",
    ("coco", "val2017"): "coco/val2017",
    ("aic", "keypoint_train"): "aic/train",
    ("aic", "keypoint_validation"): "aic/val",
}

COCO_ANNOTATIONS = ("coco", "annotations_trainval2017")
COCO_TRAIN_IMAGES = ("coco", "train2017")
COCO_VAL_IMAGES = ("coco", "val2017")

#: AI Challenger split name (node parameter) -> its archive.
AIC_SPLITS = {"train": "keypoint_train", "validation": "keypoint_validation"}


def aic_archive(split: str) -> tuple:
    return ("aic", AIC_SPLITS[split])

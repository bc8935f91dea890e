"""Tiny COCO keypoint datasets for the keypoint tests, drawn by the sample generator."""
import json
from pathlib import Path

from tasks.sample.generate import build_coco_split


def make_tiny_coco(root: Path, num_images=6, split="train", seed=7) -> tuple:
    """Write `num_images` stick-figure images + person_keypoints json under `root`.

    Returns (annotation json path, image root that file_name is relative to).
    """
    root = Path(root)
    members, document, _ = build_coco_split(split, list(range(1, num_images + 1)), seed, first_ann_id=1)
    for name, data in members.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    ann = root / f"person_keypoints_{split}.json"
    ann.write_text(json.dumps(document))
    return ann, root / f"{split}2017"

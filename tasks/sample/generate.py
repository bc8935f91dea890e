"""Generate the embedded sample dataset in the official COCO 2017 and AI Challenger layouts.

    python -m tasks.sample.generate --out data/sample

writes five zip archives (named and laid out like the real downloads), a
`datasets.yml` pointing at them with file:// URLs and their md5s, and
`sample_manifest.json` with the expected counts, including the deliberately
bad AIC records that the conversion must reject. Every image is drawn from a
seed of its own, so the output is byte-identical on every run.
"""
import argparse
import hashlib
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml

from tasks.sample.archive import write_if_changed, zip_bytes
from tasks.sample.figures import background
from tasks.sample.formats import aic_record, coco_annotation, coco_file, coco_image
from tasks.sample.scenes import compose_scene

SEED = 2017
JPEG_PARAMS = [cv2.IMWRITE_JPEG_QUALITY, 88,
               cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]

COCO_ANNOTATION_FILES = {"train": "annotations/person_keypoints_train2017.json",
                         "val": "annotations/person_keypoints_val2017.json"}
AIC_LAYOUT = {
    "train": ("ai_challenger_keypoint_train_20170902",
              "keypoint_train_images_20170902", "keypoint_train_annotations_20170909.json"),
    "validation": ("ai_challenger_keypoint_validation_20170911",
                   "keypoint_validation_images_20170911",
                   "keypoint_validation_annotations_20170911.json"),
}
AIC_ARCHIVE_KEYS = {"train": "keypoint_train", "validation": "keypoint_validation"}

# Which images carry what, by index in their split (fixed, so every run has them).
def _coco_extra(index):
    if index % 12 == 3:
        return "crowd"
    if index % 9 == 5:
        return "small"
    return None


def _coco_empty(index):
    return index % 50 == 29  # real person_keypoints files list images without people too


# index in split -> defect of its last human, or of the whole record ("image file missing");
# worded as tasks/annotations/aic_to_coco.py words its rejection reasons.
AIC_BAD = {
    "train": {7: "human without box", 17: "box without human", 27: "wrong keypoint length",
              37: "box x2 < x1 or y2 < y1", 47: "keypoint outside image",
              57: "image file missing"},
    "validation": {4: "box x2 < x1 or y2 < y1"},
}
_SPLIT_CODES = {"coco/train": 1, "coco/val": 2, "aic/train": 3, "aic/validation": 4}


@dataclass(frozen=True)
class SampleSizes:
    """Images per split."""
    coco_train: int = 120
    coco_val: int = 30
    aic_train: int = 120
    aic_validation: int = 20


def _scene_rng(seed, split, index):
    return np.random.default_rng([seed, _SPLIT_CODES[split], index])


def _image_size(rng):
    width = int(rng.integers(20, 31)) * 16  # 320 .. 480, 4:3
    return width, width * 3 // 4


def _scene(seed, split, index, people_min=1, extra=None, style="coco"):
    """(BGR image, [Person], width, height) of image `index` of `split`."""
    rng = _scene_rng(seed, split, index)
    width, height = _image_size(rng)
    n_people = max(people_min, int(rng.choice([1, 2, 3], p=[0.45, 0.35, 0.2])))
    image, people = compose_scene(rng, width, height, n_people, extra, style)
    return image, people, width, height


def _empty_scene(seed, split, index):
    rng = _scene_rng(seed, split, index)
    width, height = _image_size(rng)
    return background(rng, width, height), [], width, height


def _jpeg(image):
    ok, buf = cv2.imencode(".jpg", image, JPEG_PARAMS)
    if not ok:
        raise RuntimeError(f"cv2.imencode failed on a {image.shape} image")
    return buf.tobytes()


def _coco_ids(seed, sizes):
    rng = np.random.default_rng([seed, 0])
    ids = rng.choice(np.arange(1, 581930), sizes.coco_train + sizes.coco_val, replace=False)
    return sorted(ids[:sizes.coco_train].tolist()), sorted(ids[sizes.coco_train:].tolist())


def build_coco_split(split, image_ids, seed, first_ann_id):
    """(zip members {name: jpeg}, person_keypoints document, counts) of one COCO split."""
    folder = f"{split}2017"
    members, images, annotations = {}, [], []
    for index, image_id in enumerate(image_ids):
        if _coco_empty(index):
            image, people, width, height = _empty_scene(seed, f"coco/{split}", index)
        else:
            image, people, width, height = _scene(seed, f"coco/{split}", index,
                                                  extra=_coco_extra(index))
        record = coco_image(image_id, folder, width, height)
        members[f"{folder}/{record['file_name']}"] = _jpeg(image)
        images.append(record)
        for person in people:
            annotations.append(coco_annotation(person, first_ann_id + len(annotations), image_id))
    return members, coco_file(images, annotations), _coco_counts(images, annotations)


def _coco_counts(images, annotations):
    with_people = {a["image_id"] for a in annotations}
    visibility = Counter(v for a in annotations for v in a["keypoints"][2::3]
                         if a["num_keypoints"] > 0)
    return {
        "images": len(images),
        "images_without_people": len(images) - len(with_people),
        "annotations": len(annotations),
        "crowd": sum(a["iscrowd"] for a in annotations),
        "zero_keypoints_not_crowd": sum(1 for a in annotations
                                        if not a["iscrowd"] and a["num_keypoints"] == 0),
        "with_keypoints": sum(1 for a in annotations if a["num_keypoints"] > 0),
        "keypoint_visibility": {str(v): visibility[v] for v in (0, 1, 2)},
    }


def _aic_image_id(seed, split, index):
    return hashlib.sha1(f"tinypose-sample/{seed}/aic/{split}/{index}".encode()).hexdigest()


def _spoil(record, defect, width, height):
    """Apply one defect to the record's last human; returns the rejected-record entry."""
    human = sorted(record["keypoint_annotations"], key=lambda h: int(h[len("human"):]))[-1]
    keypoints = record["keypoint_annotations"]
    boxes = record["human_annotations"]
    if defect == "human without box":
        del boxes[human]
    elif defect == "box without human":
        del keypoints[human]
    elif defect == "wrong keypoint length":
        keypoints[human] = keypoints[human][:39]
    elif defect == "box x2 < x1 or y2 < y1":
        x1, y1, x2, y2 = boxes[human]
        boxes[human] = [x2, y1, x1, y2]
    elif defect == "keypoint outside image":
        keypoints[human][0:3] = [width + 20, height // 2, 1]
    else:
        raise ValueError(f"unknown AIC defect {defect!r}")
    return {"image_id": record["image_id"], "human": human, "reason": defect}


def build_aic_split(split, count, seed):
    """(zip members, raw AIC annotation list, counts) of one AIC split."""
    top, image_dir, annotation_file = AIC_LAYOUT[split]
    members, records, rejected = {}, [], []
    visibility = Counter()
    for index in range(count):
        defect = AIC_BAD[split].get(index)
        image, people, width, height = _scene(seed, f"aic/{split}", index, style="aic",
                                              people_min=2 if defect else 1)
        record = aic_record(_aic_image_id(seed, split, index), people)
        records.append(record)
        if defect == "image file missing":  # the record stays, its image is left out
            rejected.append({"image_id": record["image_id"], "human": None, "reason": defect,
                             "humans": len(record["keypoint_annotations"])})
            continue
        members[f"{top}/{image_dir}/{record['image_id']}.jpg"] = _jpeg(image)
        bad_human = None
        if defect:
            rejected.append(_spoil(record, defect, width, height))
            bad_human = rejected[-1]["human"]
        visibility.update(v for human, kps in record["keypoint_annotations"].items()
                          if human != bad_human for v in kps[2::3])
    humans = sum(len(set(r["keypoint_annotations"]) | set(r["human_annotations"]))
                 for r in records)
    by_reason = Counter()
    for r in rejected:
        by_reason[r["reason"]] += r.get("humans", 1)
    missing = sum(1 for r in rejected if r["human"] is None)
    counts = {
        "records": len(records),
        "images_in_archive": len(members),
        "images_kept": len(records) - missing,
        "images_rejected": missing,
        "humans": humans,
        "humans_kept": humans - sum(by_reason.values()),
        "humans_rejected": sum(by_reason.values()),
        "rejected_by_reason": dict(sorted(by_reason.items())),
        "keypoint_visibility_kept": {str(v): visibility[v] for v in (1, 2, 3)},
        "bad_records": rejected,
    }
    members[f"{top}/{annotation_file}"] = _json_bytes(records)
    return members, records, counts


def _json_bytes(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def datasets_config(archives):
    """The datasets.yml document for archives {(source, key): (path, md5)}."""
    def entry(source, key, **patterns):
        path, md5 = archives[(source, key)]
        return {"url": Path(path).resolve().as_uri(), "md5": md5, **patterns}

    aic = {}
    for split, key in AIC_ARCHIVE_KEYS.items():
        top, image_dir, annotation_file = AIC_LAYOUT[split]
        aic[key] = entry("aic", key, images=f"{top}/{image_dir}",
                         annotations=f"{top}/{annotation_file}")
    return {
        "coco": {
            "train2017": entry("coco", "train2017", images="train2017"),
            "val2017": entry("coco", "val2017", images="val2017"),
            "annotations_trainval2017": entry("coco", "annotations_trainval2017",
                                              files=dict(COCO_ANNOTATION_FILES)),
        },
        "aic": aic,
    }


def _write_archive(path, members):
    return path, write_if_changed(path, zip_bytes(members))


def generate_sample(out_dir, seed=SEED, sizes=SampleSizes()):
    """Write the sample archives, datasets.yml and sample_manifest.json into `out_dir`.

    Returns {"archives": {"coco/train2017": {"path", "md5"}, ...},
    "datasets_yml": Path, "manifest": Path, "counts": {...}}.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    archives, counts = {}, {"coco": {}, "aic": {}}

    train_ids, val_ids = _coco_ids(seed, sizes)
    documents = {}
    first_ann_id = 1
    for split, ids in (("train", train_ids), ("val", val_ids)):
        members, documents[split], counts["coco"][split] = build_coco_split(
            split, ids, seed, first_ann_id)
        first_ann_id += len(documents[split]["annotations"])
        archives[("coco", f"{split}2017")] = _write_archive(out_dir / f"{split}2017.zip", members)
    annotation_members = {name: _json_bytes(documents[split])
                          for split, name in COCO_ANNOTATION_FILES.items()}
    archives[("coco", "annotations_trainval2017")] = _write_archive(
        out_dir / "annotations_trainval2017.zip", annotation_members)

    for split, count in (("train", sizes.aic_train), ("validation", sizes.aic_validation)):
        members, _, counts["aic"][split] = build_aic_split(split, count, seed)
        archives[("aic", AIC_ARCHIVE_KEYS[split])] = _write_archive(
            out_dir / f"{AIC_LAYOUT[split][0]}.zip", members)

    datasets_yml = out_dir / "datasets.yml"
    write_if_changed(datasets_yml,
                     yaml.safe_dump(datasets_config(archives), sort_keys=False).encode())
    archive_info = {f"{source}/{key}": {"path": str(Path(path).resolve()), "md5": md5}
                    for (source, key), (path, md5) in archives.items()}
    manifest = out_dir / "sample_manifest.json"
    write_if_changed(manifest, json.dumps({
        "generator": "tasks.sample.generate", "seed": seed, "sizes": asdict(sizes),
        "archives": {k: {"file": Path(v["path"]).name, "md5": v["md5"]}
                     for k, v in archive_info.items()},
        "counts": counts,
    }, indent=2).encode())
    return {"archives": archive_info, "datasets_yml": datasets_yml, "manifest": manifest,
            "counts": counts}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data/sample"))
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    result = generate_sample(args.out, seed=args.seed)
    for name, info in result["archives"].items():
        size = Path(info["path"]).stat().st_size / 1e6
        print(f"{name:35s} {size:6.2f} MB  md5 {info['md5']}  {info['path']}")
    coco, aic = result["counts"]["coco"], result["counts"]["aic"]
    for split, c in coco.items():
        print(f"coco {split}: {c['images']} images, {c['annotations']} annotations "
              f"({c['with_keypoints']} with keypoints, {c['crowd']} crowd, "
              f"{c['zero_keypoints_not_crowd']} without keypoints)")
    for split, c in aic.items():
        print(f"aic {split}: {c['records']} records, {c['humans']} humans, "
              f"{c['humans_rejected']} to reject {c['rejected_by_reason']}")
    print(f"datasets config: {result['datasets_yml']}")
    print(f"manifest: {result['manifest']}")
    print(f"generated in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()

"""Merge COCO person keypoints and converted AIC files into one training list.

Order and ids (deterministic): sources in the order given (COCO first, then the
AIC files in list order). Within a source, images are sorted by their original
image id and annotations by their original annotation id; new image ids and
annotation ids are 1..N over that order. Every kept record keeps its fields
(COCO segmentation included) except ``id``/``image_id`` (reassigned),
``file_name`` (COCO: ``coco_prefix`` prepended so it is relative to the data
root; converted AIC files already carry ``aic/...``) and ``aic_id`` (moved to the
lineage). Every person box is kept: crowd boxes (iscrowd 1) and persons without
labeled keypoints included; images without persons are kept too.

Bad records of any source are rejected with a reason (validate.check_image /
check_annotation, plus duplicate ids). Every image record of an image id that
several records carry is rejected (which picture its annotations belong to
cannot be told); for duplicate annotation ids the first record wins. A file_name
that could lead outside its image folder (tasks.common.paths) is rejected, and
so is a boolean, string, NaN or infinity where a number belongs. Per source and
kind: input == kept + rejected, asserted and reported. An annotation whose image
was rejected is rejected ("image_id not among the kept images", its detail says
why the image was).

Outputs: the merged COCO file, a lineage CSV ``new_id,kind,source,original_id``
(kind image|annotation; original_id is the COCO id, or the AIC sha1 /
"<sha1>/humanN"), and a JSON report with counts, the new id range of each
source ([first, last], used by tasks.annotations.report) and the rejections:
``rejections`` as [source, kind, original_id, reason] and ``rejected_records``
as dicts with the same four plus image_id, file_name (relative to the data
root), annotation_id, bbox and detail (tasks.annotations.rejections).

Speed and memory: orjson for parsing and writing, records are modified in place
(no copies), checks are plain Python on list slices; the merged document is
serialised in chunks so the whole output never exists as one bytes object; the
cyclic garbage collector is paused during the merge (validate.gc_paused).
"""
from collections import defaultdict
from operator import itemgetter
from pathlib import Path

import orjson

from tasks.annotations.rejections import rejection_record
from tasks.annotations.validate import check_annotation, check_image, gc_paused, load_json, validate_document
from tasks.common.coco import person_category
from tasks.common.logs import progress_bar
from tasks.datasets.layout import COCO_TRAIN_IMAGES, IMAGE_LINKS

SOURCE_ID_FIELD = "aic_id"
WRITE_CHUNK = 50_000
LINEAGE_HEADER = "new_id,kind,source,original_id\n"


def _original_id(record, index):
    return record.get("id", f"#{index}") if isinstance(record, dict) else f"#{index}"


def _field(record, key):
    return record.get(key) if type(record) is dict else None


def _names_by_id(images):
    """Original image id -> the file names of the image records that carry it."""
    names = defaultdict(list)
    for image in images:
        if type(image) is dict and type(image.get("id")) is int:
            names[image["id"]].append(image.get("file_name"))
    return names


class _Source:
    """One input file and what the merge kept from it."""

    def __init__(self, name, path, prefix):
        self.name, self.path, self.prefix = name, Path(path), prefix
        self.images, self.annotations = [], []
        self.image_lineage, self.annotation_lineage = [], []
        self.stats = {"name": name, "file": Path(path).name}
        # what the rejection records of annotations name: their image's file name and, when
        # that image was rejected, why (original image id -> file names, -> reason)
        self.image_names, self.image_rejected = {}, {}

    def load(self, rejections, progress):
        doc = load_json(self.path)
        validate_document(doc, "coco_keypoints", self.path)
        sizes = self._take_images(doc["images"], rejections, progress)
        self._take_annotations(doc["annotations"], sizes, rejections, progress)

    def _root_relative(self, file_name):
        return f"{self.prefix.rstrip('/')}/{file_name}" if self.prefix and type(file_name) is str else file_name

    def _reject(self, rejections, kind, record, index, reason, **fields):
        rejections.append({"source": self.name, "kind": kind, "original_id": _original_id(record, index),
                           **rejection_record(reason, **fields)})

    def _reject_image(self, rejections, image, index, reason):
        image_id = _field(image, "id")
        detail = None
        if reason == "duplicate image id":
            detail = f"image id {image_id} is carried by {', '.join(map(str, self.image_names[image_id]))}"
        self.image_rejected.setdefault(image_id, reason)
        self._reject(rejections, "image", image, index, reason, image_id=image_id,
                     file_name=self._root_relative(_field(image, "file_name")), detail=detail)

    def _reject_annotation(self, rejections, ann, index, reason):
        image_id = _field(ann, "image_id")
        names = self.image_names.get(image_id, ()) if type(image_id) is int else ()
        image_reason = self.image_rejected.get(image_id) if type(image_id) is int else None
        self._reject(rejections, "annotation", ann, index, reason, image_id=image_id,
                     file_name=self._root_relative(names[0]) if len(names) == 1 else None,
                     annotation_id=_field(ann, "id"), bbox=_field(ann, "bbox"),
                     detail=f"image {image_id} rejected: {image_reason}" if image_reason else None)

    def _take_images(self, images, rejections, progress):
        self.image_names = _names_by_id(images)
        duplicates = {iid for iid, names in self.image_names.items() if len(names) > 1}
        kept = {}
        for index, image in enumerate(progress_bar(images, desc=f"{self.name} images", unit="img",
                                                   enabled=progress, mininterval=1.0)):
            reason = check_image(image, duplicates)
            if reason is None:
                kept[image["id"]] = image
            else:
                self._reject_image(rejections, image, index, reason)
        self.images = sorted(kept.values(), key=itemgetter("id"))
        self.stats.update(images_in=len(images), images_kept=len(self.images),
                          images_rejected=len(images) - len(self.images))
        # original id -> (width, height): what check_annotation needs
        return {image["id"]: (image["width"], image["height"]) for image in self.images}

    def _take_annotations(self, annotations, sizes, rejections, progress):
        kept = {}
        for index, ann in enumerate(progress_bar(annotations, desc=f"{self.name} annotations",
                                                 unit="ann", enabled=progress, mininterval=1.0)):
            reason = check_annotation(ann, sizes)
            if reason is None and ann["id"] in kept:
                reason = "duplicate annotation id"
            if reason is None:
                kept[ann["id"]] = ann
            else:
                self._reject_annotation(rejections, ann, index, reason)
        self.annotations = sorted(kept.values(), key=itemgetter("id"))
        self.image_names = self.image_rejected = None  # only the rejection records needed them
        self.stats.update(annotations_in=len(annotations),
                          annotations_kept=len(self.annotations),
                          annotations_rejected=len(annotations) - len(self.annotations))

    def renumber(self, first_image_id, first_annotation_id):
        """Assign new ids from the given starts; record the lineage."""
        new_image_id = {}
        prefix = f"{self.prefix.rstrip('/')}/" if self.prefix else ""
        for new_id, image in enumerate(self.images, start=first_image_id):
            old_id = image["id"]
            new_image_id[old_id] = new_id
            self.image_lineage.append(image.pop(SOURCE_ID_FIELD, old_id))
            image["id"] = new_id
            if prefix:
                image["file_name"] = prefix + image["file_name"]
        for new_id, ann in enumerate(self.annotations, start=first_annotation_id):
            self.annotation_lineage.append(ann.pop(SOURCE_ID_FIELD, ann["id"]))
            ann["id"] = new_id
            ann["image_id"] = new_image_id[ann["image_id"]]
        self.stats.update(
            image_ids=[first_image_id, first_image_id + len(self.images) - 1],
            annotation_ids=[first_annotation_id, first_annotation_id + len(self.annotations) - 1])


def _dump_list(f, records):
    """Write `records` as a JSON array in chunks (the whole array's bytes never exist at once)."""
    f.write(b"[")
    for start in range(0, len(records), WRITE_CHUNK):
        if start:
            f.write(b",")
        f.write(memoryview(orjson.dumps(records[start:start + WRITE_CHUNK]))[1:-1])
    f.write(b"]")


def _write_merged(path, doc):
    with open(path, "wb") as f:
        f.write(b"{")
        for i, (key, value) in enumerate(doc.items()):
            f.write(b"," if i else b"")
            f.write(orjson.dumps(key) + b":")
            if isinstance(value, list):
                _dump_list(f, value)
            else:
                f.write(orjson.dumps(value))
        f.write(b"}")


def _write_lineage(path, sources):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(LINEAGE_HEADER)
        for kind in ("image", "annotation"):
            for src in sources:
                first = src.stats[f"{kind}_ids"][0]
                originals = src.image_lineage if kind == "image" else src.annotation_lineage
                for start in range(0, len(originals), WRITE_CHUNK):
                    chunk = originals[start:start + WRITE_CHUNK]
                    f.write("".join(f"{first + start + i},{kind},{src.name},{orig}\n"
                                    for i, orig in enumerate(chunk)))


def merge(coco_json, aic_jsons, out_json, lineage_csv, report_json, *,
          coco_prefix=IMAGE_LINKS[COCO_TRAIN_IMAGES], aic_names=None, progress=True):
    """Merge a COCO person-keypoints file and converted AIC files into `out_json`.

    coco_json: person_keypoints_train2017.json (file_name relative to its image folder);
    aic_jsons: files written by aic_to_coco.convert_aic (file_name already relative to
    the data root); coco_prefix: prepended to COCO file names; aic_names: source names
    for the lineage and report (default: each file's stem).
    Writes out_json, lineage_csv and report_json; returns the report dict.
    """
    with gc_paused():
        return _merge(coco_json, aic_jsons, out_json, lineage_csv, report_json, coco_prefix,
                      aic_names, progress)


def _merge(coco_json, aic_jsons, out_json, lineage_csv, report_json, coco_prefix, aic_names,
           progress):
    aic_jsons = [Path(p) for p in aic_jsons]
    aic_names = list(aic_names) if aic_names is not None else [p.stem for p in aic_jsons]
    if len(aic_names) != len(aic_jsons) or len(set(aic_names) | {"coco"}) != len(aic_names) + 1:
        raise ValueError(f"aic_names {aic_names}: need one distinct name (not 'coco') per AIC file")
    sources = [_Source("coco", coco_json, coco_prefix)]
    sources += [_Source(name, path, None) for name, path in zip(aic_names, aic_jsons)]
    rejections = []
    next_image_id = next_annotation_id = 1
    for src in sources:
        src.load(rejections, progress)
        src.renumber(next_image_id, next_annotation_id)
        next_image_id += len(src.images)
        next_annotation_id += len(src.annotations)
    merged = {
        "info": {"description": "COCO person keypoints merged with AI Challenger "
                                "(tasks.annotations.merge)",
                 "sources": [src.name for src in sources]},
        "images": [image for src in sources for image in src.images],
        "annotations": [ann for src in sources for ann in src.annotations],
        "categories": [person_category()],
    }
    for src in sources:  # the merged lists hold the records now
        src.images = src.annotations = None
    validate_document(merged, "coco_keypoints", out_json, sample=100)
    _write_merged(out_json, merged)
    _write_lineage(lineage_csv, sources)
    report = _report(sources, rejections, merged)
    Path(report_json).write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return report


def _report(sources, rejections, merged):
    by_reason = {}
    for item in rejections:
        key = f"{item['source']} {item['kind']}: {item['reason']}"
        by_reason[key] = by_reason.get(key, 0) + 1
    for src in sources:
        stats = src.stats
        for kind in ("images", "annotations"):
            assert stats[f"{kind}_in"] == stats[f"{kind}_kept"] + stats[f"{kind}_rejected"]
    return {
        "images": len(merged["images"]),
        "annotations": len(merged["annotations"]),
        "sources": [src.stats for src in sources],
        "invariant": "per source and kind: input == kept + rejected",
        "rejections_by_reason": dict(sorted(by_reason.items(), key=lambda kv: -kv[1])),
        "rejections": [[item["source"], item["kind"], item["original_id"], item["reason"]]
                       for item in rejections],
        "rejected_records": rejections,
    }

"""The merge writes the same bytes in fresh processes whatever their string-hash seed.

A set or a dict built in hash order would change the merged file or the lineage
between two runs of the Luigi node; two runs in one process share the seed and
cannot show it, so each merge here runs in its own interpreter with its own
PYTHONHASHSEED, on inputs that exercise every path: two AIC sources, rejected
records of several kinds, crowd boxes and persons without keypoints.
"""
import os
import subprocess
import sys
from pathlib import Path

import orjson

from test_annotations_merge import _aic_files, _ann, coco_doc

ROOT = Path(__file__).resolve().parents[1]
MERGE_SCRIPT = """
import sys
from tasks.annotations.merge import merge
coco, aic, out = sys.argv[1:4]
merge(coco, [aic, aic], f"{out}/merged.json", f"{out}/lineage.csv", f"{out}/report.json",
      aic_names=["aic_train", "aic_validation"], progress=False)
"""


def _coco_with_rejections(path):
    doc = coco_doc()
    doc["images"].append(dict(doc["images"][0]))             # duplicate image id
    doc["images"].append({"id": 7, "file_name": "7.jpg"})    # no size
    doc["annotations"] += [_ann(400, 9999),                  # unknown image
                           _ann(300, 10),                    # duplicate annotation id
                           _ann(500, 42, bbox=(1, 1, -5, 4)),  # negative width
                           _ann(600, 7)]                     # its image was rejected
    path.write_bytes(orjson.dumps(doc))
    return path


def _merge_in_fresh_process(coco, aic, out, hash_seed):
    out.mkdir()
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", MERGE_SCRIPT, str(coco), str(aic), str(out)],
                   cwd=ROOT, env=env, check=True, timeout=120)
    report = orjson.loads((out / "report.json").read_bytes())
    for where in ("output", "lineage"):  # the output paths, which differ on purpose
        report.pop(where, None)
    return (out / "merged.json").read_bytes(), (out / "lineage.csv").read_bytes(), report


def test_merge_is_byte_identical_across_processes_and_hash_seeds(tmp_path):
    coco = _coco_with_rejections(tmp_path / "coco.json")
    aic = _aic_files(tmp_path)
    first = _merge_in_fresh_process(coco, aic, tmp_path / "seed_1", "1")
    second = _merge_in_fresh_process(coco, aic, tmp_path / "seed_2", "2")
    assert first[2]["rejections"] and len(first[2]["rejections_by_reason"]) >= 4, first[2]
    assert first[0] == second[0]  # merged file
    assert first[1] == second[1]  # lineage
    assert first[2] == second[2]  # report, paths aside

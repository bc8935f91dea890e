"""Statistics of the merged training list: JSON, a text summary and a PNG.

Per source (the id ranges come from the merge report): images, persons (every
annotation), persons with keypoints (num_keypoints > 0), crowd boxes, per-joint
visibility counts [v=0, v=1, v=2] and boxes by COCO size on the ``area`` field
(small < 32^2 <= medium < 96^2 <= large, as COCOeval). Rejections by reason come
from the merge report and from any conversion reports.
"""
from pathlib import Path

import numpy as np
import orjson

from tasks.annotations.validate import gc_paused, load_json
from tasks.common.coco import COCO_KEYPOINTS, LARGE_AREA, NUM_JOINTS, SMALL_AREA


def _source_ranges(merged, merge_report):
    if merge_report is None:
        return [("all", [1, len(merged["images"])], [1, len(merged["annotations"])])]
    ranges = [(s["name"], s["image_ids"], s["annotation_ids"]) for s in merge_report["sources"]]
    for position, kind in ((1, "images"), (2, "annotations")):
        ends = [0] + [r[position][1] for r in ranges]
        starts = [r[position][0] for r in ranges] + [len(merged[kind]) + 1]
        if any(start != end + 1 for start, end in zip(starts, ends)):
            raise ValueError(f"the {kind} id ranges of the merge report {ends[1:]} do not cover "
                             f"1..{len(merged[kind])}: the merged file and the merge report "
                             "do not belong together")
    return ranges


def _records_in(records, id_range, path_kind):
    first, last = id_range
    chunk = records[first - 1:last]
    if chunk and (chunk[0]["id"] != first or chunk[-1]["id"] != last):
        raise ValueError(f"{path_kind} ids {first}..{last} are not at positions {first}..{last}: "
                         "the merged file and the merge report do not belong together")
    return chunk


def source_statistics(images, annotations):
    """Counts, per-joint visibility and box sizes of one source's records."""
    n = len(annotations)
    vis = np.zeros((n, NUM_JOINTS), np.int64)
    areas = np.zeros(n)
    crowd = np.zeros(n, np.int64)
    for i, ann in enumerate(annotations):
        vis[i] = ann["keypoints"][2::3]
        areas[i] = ann["area"]
        crowd[i] = ann["iscrowd"]
    labeled = (vis > 0).sum(1)
    return {
        "images": len(images),
        "persons": n,
        "persons_with_keypoints": int((labeled > 0).sum()),
        "crowd": int(crowd.sum()),
        "labeled_keypoints": int(labeled.sum()),
        "visibility": {name: [int((vis[:, j] == v).sum()) for v in (0, 1, 2)]
                       for j, name in enumerate(COCO_KEYPOINTS)},
        "box_sizes": {"small": int((areas < SMALL_AREA).sum()),
                      "medium": int(((areas >= SMALL_AREA) & (areas < LARGE_AREA)).sum()),
                      "large": int((areas >= LARGE_AREA).sum())},
    }


def build_report(merged, merge_report=None, conversion_reports=()):
    """Statistics dict of a merged COCO document (see the module docstring)."""
    sources = {}
    for name, image_ids, annotation_ids in _source_ranges(merged, merge_report):
        sources[name] = source_statistics(_records_in(merged["images"], image_ids, "image"),
                                          _records_in(merged["annotations"], annotation_ids,
                                                      "annotation"))
    rejections = {}
    if merge_report is not None:
        rejections["merge"] = merge_report["rejections_by_reason"]
    for conv in conversion_reports:
        by_reason = {f"human: {r}": c for r, c in conv["rejected_humans_by_reason"].items()}
        by_reason.update({f"image: {r}": c for r, c in conv["rejected_images_by_reason"].items()})
        rejections[f"convert {Path(conv['input']).name}"] = by_reason
    totals = {key: sum(s[key] for s in sources.values())
              for key in ("images", "persons", "persons_with_keypoints", "crowd",
                          "labeled_keypoints")}
    return {"sources": sources, "totals": totals, "rejections": rejections}


def format_summary(report):
    """Plain-text summary of a report from build_report."""
    lines = [f"{'source':<16}{'images':>10}{'persons':>10}{'with kpts':>11}{'crowd':>8}"
             f"{'small':>9}{'medium':>9}{'large':>9}"]
    for name, s in report["sources"].items():
        sizes = s["box_sizes"]
        lines.append(f"{name:<16}{s['images']:>10}{s['persons']:>10}"
                     f"{s['persons_with_keypoints']:>11}{s['crowd']:>8}"
                     f"{sizes['small']:>9}{sizes['medium']:>9}{sizes['large']:>9}")
    t = report["totals"]
    lines.append(f"{'total':<16}{t['images']:>10}{t['persons']:>10}"
                 f"{t['persons_with_keypoints']:>11}{t['crowd']:>8}")
    names = list(report["sources"])
    lines.append("labeled fraction per joint (v > 0): " + "".join(f"{n:>12}" for n in names))
    for j, joint in enumerate(COCO_KEYPOINTS):
        lines.append(f"  {joint:<16}" + "".join(
            f"{_labeled_fraction(report['sources'][n], j):>12.3f}" for n in names))
    for stage, by_reason in report["rejections"].items():
        total = sum(by_reason.values())
        lines.append(f"rejected in {stage}: {total}")
        lines.extend(f"  {count:>8}  {reason}" for reason, count in by_reason.items())
    return "\n".join(lines)


def _labeled_fraction(stats, joint):
    counts = stats["visibility"][COCO_KEYPOINTS[joint]]
    return (counts[1] + counts[2]) / max(sum(counts), 1)


def plot_report(report, png_path):
    """Write a 2x2 PNG: persons per source, labeled fraction per joint, box sizes, rejections."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["sources"])
    stats = [report["sources"][n] for n in names]
    fig, axes = plt.subplots(2, 2, figsize=(14, 9))
    ax = axes[0, 0]
    with_kpts = [s["persons_with_keypoints"] for s in stats]
    without = [s["persons"] - s["persons_with_keypoints"] - s["crowd"] for s in stats]
    crowd = [s["crowd"] for s in stats]
    ax.bar(names, with_kpts, label="with keypoints")
    ax.bar(names, without, bottom=with_kpts, label="no keypoints")
    ax.bar(names, crowd, bottom=np.add(with_kpts, without), label="crowd")
    ax.set_title("persons per source")
    ax.legend()
    ax = axes[0, 1]
    x = np.arange(NUM_JOINTS)
    width = 0.8 / max(len(stats), 1)
    for k, (name, s) in enumerate(zip(names, stats)):
        ax.bar(x + k * width, [_labeled_fraction(s, j) for j in range(NUM_JOINTS)], width,
               label=name)
    ax.set_xticks(x + 0.4 - width / 2, COCO_KEYPOINTS, rotation=60, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_title("labeled fraction per joint (v > 0)")
    ax.legend()
    ax = axes[1, 0]
    buckets = ("small", "medium", "large")
    x = np.arange(len(buckets))
    for k, (name, s) in enumerate(zip(names, stats)):
        ax.bar(x + k * width, [s["box_sizes"][b] for b in buckets], width, label=name)
    ax.set_xticks(x + 0.4 - width / 2, buckets)
    ax.set_title("boxes by COCO size (area)")
    ax.legend()
    ax = axes[1, 1]
    reasons = sorted(((f"{stage}: {reason}", count)
                      for stage, by_reason in report["rejections"].items()
                      for reason, count in by_reason.items()), key=lambda rc: -rc[1])[:15]
    if reasons:
        ax.barh([r for r, _ in reasons][::-1], [c for _, c in reasons][::-1])
        ax.tick_params(axis="y", labelsize=7)
    else:
        ax.text(0.5, 0.5, "no rejections", ha="center", va="center")
    ax.set_title("rejections by reason")
    fig.tight_layout()
    fig.savefig(png_path, dpi=80)
    plt.close(fig)
    return Path(png_path)


def write_report(merged_json, merge_report_json, out_json, png_path, conversion_report_jsons=()):
    """Load the merge outputs, build the statistics, write JSON + PNG; return the report."""
    with gc_paused():
        merged = load_json(merged_json)
        report = build_report(merged, load_json(merge_report_json),
                              [load_json(p) for p in conversion_report_jsons])
        del merged
    Path(out_json).write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    plot_report(report, png_path)
    return report

"""Image verification speed (issue 21): the decoders compared, the check on 2 processes, the
projection to the full COCO train + AIC train, and the re-runs.

Generates JPEGs with a photo-like byte count (multi-scale noise, 4:2:0): COCO-like 640x480
and 640x427 at quality 90 (~160 kB: COCO train2017 is 18 GB for 118,287 images) and AIC-like
800x600 at quality 65 (~95 kB: AI Challenger's keypoint train is about 20 GB for 210,000
images). Decoding costs about in proportion to a file's bytes. Then:

* per decoder, ms per COCO-like image on one process, and which bad files it catches
  (cut at 3 kB; cut with FF D9 put back; a 2 kB gap in the middle; zero bytes; text);
* tasks.imagecheck's check on `--processes` worker processes over every file, per family;
  verify_s projects it to 118,287 COCO + 210,000 AIC train images (the work is linear);
  verify_s_from_one_process projects the best one-process time per image instead, split over
  `--processes` cores (what an unshared machine would give);
* the check again with every file in the cache (a changed list: stat + lookup per file),
  projected to 328,287 images: cached_s;
* noop_s: a fresh process importing pipeline.tasks and asking the VerifyImages node's
  complete() on a manifest written by the node's own run() for a 328,287-image list (the
  list, report and CSV written at full size; the node's upstream left out: the data DAG's
  own no-op is bench/noop_dag.py's).

    .venv/bin/python bench/verify_images.py [--coco 2000] [--aic 500] [--processes 2]

Last line: images_per_s_per_core=... aic_images_per_s_per_core=... verify_s=...
    verify_s_from_one_process=... cached_s=... noop_s=...
"""
import argparse
import io
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch import scratch_folder  # noqa: E402
from tasks.imagecheck.cache import CheckCache  # noqa: E402
from tasks.imagecheck.decode import check_file  # noqa: E402
from tasks.imagecheck.verify import check_images  # noqa: E402

COCO_TRAIN, AIC_TRAIN = 118287, 210000
COCO_SIZES, AIC_SIZE = [(640, 480), (640, 427)], (800, 600)
COCO_QUALITY, AIC_QUALITY = 90, 65   # ~160 kB and ~95 kB: each train set's bytes / images
NOISE_AMPLITUDE = 8   # gives ~160 kB at 640x480, quality 90
BASES = 32            # distinct textures per size; each file is one of them shifted


def texture(width, height, rng):
    """Noise at scales 2..64 px plus pixel noise: a photo's byte count at quality 90."""
    image = rng.normal(0, NOISE_AMPLITUDE * 1.5, (height, width, 3)).astype(np.float32)
    for scale in (2, 4, 8, 16, 32, 64):
        noise = rng.normal(0, 1, (height // scale + 2, width // scale + 2, 3)).astype(np.float32)
        big = cv2.resize(noise, (width + 2 * scale, height + 2 * scale), interpolation=cv2.INTER_CUBIC)
        image += big[:height, :width] * NOISE_AMPLITUDE * scale ** 0.5
    return np.clip(image + 128, 0, 255).astype(np.uint8)


def write_images(folder: Path, sizes, count, seed, quality) -> list:
    """`count` JPEG files cycling through `sizes`; returns their records (file_name, width, height)."""
    rng = np.random.default_rng(seed)
    bases = {size: [texture(*size, rng) for _ in range(BASES)] for size in sizes}
    folder.mkdir(parents=True)
    records = []
    for i in range(count):
        size = sizes[i % len(sizes)]
        image = np.roll(bases[size][i % BASES], int(rng.integers(0, size[0])), axis=1)
        name = f"{i:06d}.jpg"
        (folder / name).write_bytes(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes())
        records.append({"id": len(records) + 1, "file_name": f"{folder.name}/{name}", "width": size[0],
                        "height": size[1]})
    return records


def pil_strict(data):
    from PIL import Image, ImageFile
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    with Image.open(io.BytesIO(data)) as image:
        image.load()
    return True


def cv2_decodes(flag):
    return lambda data: cv2.imdecode(np.frombuffer(data, np.uint8), flag) is not None if data else False


def bad_cases(data: bytes) -> dict:
    middle = len(data) // 2
    return {"cut_3kB": data[:3000], "cut_eoi_kept": data[:-400] + b"\xff\xd9",
            "gap_2kB": data[:middle] + data[middle + 2000:], "zero_bytes": b"", "text": b"<html>404</html>" * 8}


def _best_ms(function, items, rounds=3):
    """Best of `rounds` passes (the machine is shared), in ms per item."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for item in items:
            function(item)
        best = min(best, (time.perf_counter() - started) / len(items) * 1e3)
    return best


def compare_decoders(paths, work: Path):
    """ms per image on one process (best of 3 passes), and the bad cases each one rejects."""
    methods = {"cv2_full": cv2_decodes(cv2.IMREAD_COLOR), "cv2_reduced_8": cv2_decodes(cv2.IMREAD_REDUCED_COLOR_8),
               "pil_strict": pil_strict}
    blobs = [p.read_bytes() for p in paths]
    cases = bad_cases(blobs[0])
    for name, decode in methods.items():
        caught = [case for case, data in cases.items() if not _accepts(decode, data)]
        print(f"{name}: {_best_ms(decode, blobs):.2f} ms/image, rejects {caught} "
              "(libjpeg warnings on stderr not read)", flush=True)
    caught = []
    for case, data in cases.items():
        (work / f"{case}.jpg").write_bytes(data)
        if check_file(work / f"{case}.jpg").reason:
            caught.append(case)
    print(f"tasks.imagecheck (FF D9 walk + cv2 1/8 + warnings + header, from the file): "
          f"{_best_ms(check_file, paths):.2f} ms/image, rejects {caught}", flush=True)


def _accepts(decode, data):
    try:
        return bool(decode(data))
    except Exception:
        return False


def timed_check(records, root, cache_path, processes):
    started = time.perf_counter()
    checks, _ = check_images(records, root, CheckCache(cache_path), processes)
    seconds = time.perf_counter() - started
    assert not any(check.reason for check in checks)
    return seconds


STANDALONE_NODE = """
from pipeline.tasks import VerifyImages


class StandaloneVerifyImages(VerifyImages):
    # VerifyImages without its upstream (the data DAG's own no-op is bench/noop_dag.py's)
    def requires(self):
        return {}

    def carried_inputs(self):
        return ()
"""

NOOP_SCRIPT = """
import sys, time
started = time.perf_counter()
sys.path.insert(0, {root!r})
import luigi.configuration
{node}
luigi.configuration.get_config().set("pipeline", "data_root", {data!r})   # after pipeline's own config is read
assert StandaloneVerifyImages(split="train").complete()
print(time.perf_counter() - started)
"""


def standalone_node():
    scope = {}
    exec(STANDALONE_NODE, scope)
    return scope["StandaloneVerifyImages"](split="train")


def full_size_manifest(data_root: Path, records):
    """Run the node (Luigi, local scheduler) with the list, report and CSV written at 328,287 images."""
    import luigi
    import luigi.configuration

    import tasks.imagecheck.verify as verify
    node = standalone_node()   # imports pipeline, which reads configs/luigi.cfg: set data_root after it
    luigi.configuration.get_config().set("pipeline", "data_root", str(data_root))
    total = COCO_TRAIN + AIC_TRAIN
    images = [{**records[i % len(records)], "id": i + 1} for i in range(total)]
    rejections = [{"file_name": f"coco/train2017/{i:012d}.jpg", "image_id": i, "reason": "truncated",
                   "annotations": 2, "detail": "JPEG without its end-of-image marker (FF D9)"} for i in range(300)]

    def full_size_outputs(annotation_json, image_root, out, cache_path, **_):
        verify.write_json(out["verified"], {"images": images, "annotations": [], "categories": []})
        report = {"checked": total, "kept": total - 300, "rejected": 300, "rejected_annotations": 600,
                  "reasons": {"truncated": 300}, "rejections": rejections}
        verify.write_json(out["report"], report, indent=True)
        verify._write_rejections_csv(out["rejections"], rejections)
        return {**report, "decoded": 0}

    node.source = lambda: (data_root / "full_size_list.json", data_root)
    real, verify.verify_list = verify.verify_list, full_size_outputs
    try:
        assert luigi.build([node], local_scheduler=True)
    finally:
        verify.verify_list = real
    return node


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--coco", type=int, default=2000, help="COCO-like images")
    parser.add_argument("--aic", type=int, default=500, help="AIC-like images")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    with scratch_folder("verify_images_", keep=args.keep) as work:
        started = time.perf_counter()
        coco = write_images(work / "coco", COCO_SIZES, args.coco, seed=1, quality=COCO_QUALITY)
        aic = write_images(work / "aic", [AIC_SIZE], args.aic, seed=2, quality=AIC_QUALITY)
        for name, records in (("coco-like", coco), ("aic-like", aic)):
            kb = np.mean([(work / r["file_name"]).stat().st_size for r in records]) / 1e3
            print(f"{name}: {len(records)} files, {kb:.0f} kB average", flush=True)
        print(f"generated in {time.perf_counter() - started:.1f} s", flush=True)
        compare_decoders([work / r["file_name"] for r in coco[:300]], work)
        one_process_ms = {name: _best_ms(check_file, [work / r["file_name"] for r in records[:200]])
                          for name, records in (("coco", coco), ("aic", aic))}
        print(f"check_file on one process: {one_process_ms['coco']:.2f} ms per COCO-like image, "
              f"{one_process_ms['aic']:.2f} ms per AIC-like image", flush=True)
        rates = {}
        for name, records in (("coco", coco), ("aic", aic)):
            seconds = timed_check(records, work, work / f"{name}_cache.json", args.processes)
            rates[name] = len(records) / seconds
            cached = timed_check(records, work, work / f"{name}_cache.json", args.processes)
            rates[f"{name}_cached"] = len(records) / cached
            print(f"{name}: {rates[name]:.0f} images/s on {args.processes} processes; "
                  f"all cached: {rates[name + '_cached']:.0f} images/s", flush=True)
        verify_s = COCO_TRAIN / rates["coco"] + AIC_TRAIN / rates["aic"]
        ideal_s = (COCO_TRAIN * one_process_ms["coco"] + AIC_TRAIN * one_process_ms["aic"]) / 1e3 / args.processes
        cached_s = COCO_TRAIN / rates["coco_cached"] + AIC_TRAIN / rates["aic_cached"]
        node = full_size_manifest(work / "data", coco)
        print(f"full-size verified list: {node.outputs()['verified'].stat().st_size / 2**20:.0f} MiB", flush=True)
        noop = subprocess.run([sys.executable, "-c", NOOP_SCRIPT.format(
            root=str(ROOT), data=str(work / "data"), node=STANDALONE_NODE)],
            capture_output=True, text=True, check=True)
        noop_s = float(noop.stdout.strip().splitlines()[-1])
    print(f"images_per_s_per_core={rates['coco'] / args.processes:.0f} "
          f"aic_images_per_s_per_core={rates['aic'] / args.processes:.0f} verify_s={verify_s:.0f} "
          f"verify_s_from_one_process={ideal_s:.0f} "
          f"cached_s={cached_s:.1f} noop_s={noop_s:.2f}")


if __name__ == "__main__":
    main()

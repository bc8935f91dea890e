"""``tinypose-bundle``: a detector and a keypoint model (released or own ``.pdparams``, or the
DAG's trained ones) to one checked mobile bundle, through the DAG's ``ExportMobileBundle``.

    tinypose-bundle --det-config configs/picodet_s_192_pedestrian.yml --det-weights picodet.pdparams \\
        --keypoint-config configs/tinypose_128x96.yml --keypoint-weights tinypose.pdparams

is ``luigi --module pipeline.tasks ExportMobileBundle`` with the same flags (local scheduler),
then prints where the bundle is. Exit status 0 when it is complete, 1 when a node failed
(Luigi's summary says which), 2 for a bad flag.
"""
import argparse
import sys

import luigi
import luigi.configuration

from pipeline.config import resolve
from pipeline.deploy_nodes import ExportMobileBundle
from tasks.export.lite import PRECISIONS
from tasks.models.defaults import DEFAULT_CONFIG


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tinypose-bundle",
        description="Export, convert (Paddle-Lite FP32/FP16 .nb, ONNX), check and bundle a person detector and "
                    "a TinyPose model for a phone. Without --*-weights the DAG trains that model (needs COCO).")
    parser.add_argument("--det-config", default=DEFAULT_CONFIG["detector"], help="detector YAML (%(default)s)")
    parser.add_argument("--det-weights", default="", help="the detector's .pdparams (released or your own)")
    parser.add_argument("--keypoint-config", default=DEFAULT_CONFIG["keypoint"],
                        help="keypoint model YAML (%(default)s)")
    parser.add_argument("--keypoint-weights", default="", help="the keypoint model's .pdparams")
    parser.add_argument("--precisions", nargs="+", choices=PRECISIONS, default=list(PRECISIONS),
                        help="Paddle-Lite precisions (default: %(default)s)")
    parser.add_argument("--fuse-normalize", action="store_true",
                        help="the networks take RGB 0..255 and normalize themselves")
    parser.add_argument("--data-root", help="where to write (default: [pipeline] data_root of the Luigi config)")
    parser.add_argument("--workers", type=int, default=1, help="Luigi workers (default: %(default)s)")
    return parser


def _check_files(parser, args):
    for flag in ("det_config", "keypoint_config", "det_weights", "keypoint_weights"):
        value = getattr(args, flag)
        if value and not resolve(value).is_file():
            parser.error(f"--{flag.replace('_', '-')} {value}: no such file")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_files(parser, args)
    if args.data_root:
        luigi.configuration.get_config().set("pipeline", "data_root", str(resolve(args.data_root)))
    node = ExportMobileBundle(det_config=args.det_config, det_weights=args.det_weights,
                              keypoint_config=args.keypoint_config, keypoint_weights=args.keypoint_weights,
                              precisions=list(args.precisions), fuse_normalize=args.fuse_normalize)
    try:
        node.requires()   # checks each config's architecture
        folder = node.bundle_dir()
    except ValueError as exc:   # a config of the wrong architecture
        parser.error(str(exc))
    result = luigi.build([node], local_scheduler=True, workers=args.workers, detailed_summary=True)
    if not result.scheduling_succeeded or not node.complete():
        print(f"tinypose-bundle: failed; Luigi's summary above names the node\n{result.summary_text}", file=sys.stderr)
        return 1
    print(f"tinypose-bundle: {folder}/ (manifest.json, README.md, mobile/"
          f"{{{','.join(args.precisions)}}}/: copy one to the phone, see README.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

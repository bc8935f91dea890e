"""Compare what two data roots' deploy nodes wrote (export/, onnx/, lite/), file by file: the check
that a change of code leaves the exports of the same weights as they were.

    python tools/compare_exports.py BEFORE_ROOT AFTER_ROOT

Manifests and ownership records (paths, times) are left out. Two differences that say nothing of
the model are set aside, each named in the output:
- a legacy ``model.pdmodel`` is compared without its ops' call stacks (``op_callstack``: paths and
  line numbers of the exporting code; exports since issue 22 are written without them);
- a Paddle-Lite ``.nb`` file is compared without bytes 11-14 of its header (after the version), which
  ``paddle_lite_opt`` fills differently on every run of the same program.
Prints one line per file that differs or exists on one side only, then
``same=N differ=N only_before=N only_after=N`` on the last line; exit status 1 when any differs.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FOLDERS = ("export", "onnx", "lite")
NB_HEADER_NOISE = slice(11, 15)


def listed(root):
    """{path relative to root: Path} of the files compared."""
    root = Path(root)
    return {path.relative_to(root).as_posix(): path for folder in FOLDERS for path in (root / folder).rglob("*")
            if path.is_file() and not path.name.startswith(".") and not path.name.endswith(".manifest.json")}


def comparable(path) -> bytes:
    """The file's bytes with the noise named in the module docstring set aside."""
    data = path.read_bytes()
    if path.suffix == ".pdmodel":
        from tasks.export.inference_model import without_call_stacks
        return without_call_stacks(data)
    if path.suffix == ".nb":
        return data[:NB_HEADER_NOISE.start] + data[NB_HEADER_NOISE.stop:]
    return data


def main(before, after):
    old, new = listed(before), listed(after)
    counts = {"same": 0, "differ": 0, "only_before": 0, "only_after": 0}
    for name in sorted(old.keys() | new.keys()):
        if name not in new or name not in old:
            key = "only_before" if name in old else "only_after"
            print(f"{key}: {name}")
        elif comparable(old[name]) == comparable(new[name]):
            key = "same"
        else:
            key = "differ"
            print(f"differ: {name}")
        counts[key] += 1
    print(" ".join(f"{key}={value}" for key, value in counts.items()))
    return 1 if counts["differ"] or counts["only_before"] or counts["only_after"] else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))

"""Compare what two data roots' deploy nodes wrote (export/, onnx/, lite/), file by file: the check
that a change of code leaves the exports of the same weights as they were.

    python tools/compare_exports.py BEFORE_ROOT AFTER_ROOT

Manifests and ownership records (paths, times) are left out. What says nothing of the model is set
aside, each rule named in the output:
- a legacy ``model.pdmodel`` is compared without its ops' call stacks (``op_callstack``: paths and
  line numbers of the exporting code; exports since issue 22 are written without them);
- a Paddle-Lite ``.nb`` file (version header, program, weights) is compared without bytes 11-14 of
  its header, which ``paddle_lite_opt`` fills differently on every run. Its program is not
  byte-stable either: two runs of ``paddle_lite_opt`` on the same files may order the optimized
  ops differently (other temporary names, a few bytes more or less). A ``.nb`` whose header and
  weights are byte-identical and whose program holds the same ops, inputs and outputs in another
  order counts as ``same_ops`` (this needs the Lite environment, ``inspect_nb``).
Prints one line per file that is not byte-identical or exists on one side only, then
``same=N same_ops=N differ=N only_before=N only_after=N`` on the last line; exit status 1 when a
file differs or exists on one side only.
"""
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FOLDERS = ("export", "onnx", "lite")
NB_HEADER_NOISE = slice(11, 15)
NB_PROGRAM_SIZE_AT = 18   # uint64 after the 2-byte meta version and the 16-byte Lite version


def listed(root):
    """{path relative to root: Path} of the files compared."""
    root = Path(root)
    return {path.relative_to(root).as_posix(): path for folder in FOLDERS for path in (root / folder).rglob("*")
            if path.is_file() and not path.name.startswith(".") and not path.name.endswith(".manifest.json")}


def nb_sections(data: bytes):
    """(header without its noise bytes, program, weights) of a naive-buffer ``.nb``."""
    start = NB_PROGRAM_SIZE_AT + 8
    program_size = struct.unpack_from("<Q", data, NB_PROGRAM_SIZE_AT)[0]
    header = data[:NB_HEADER_NOISE.start] + data[NB_HEADER_NOISE.stop:NB_PROGRAM_SIZE_AT]
    return header, data[start:start + program_size], data[start + program_size:]


def same_program_ops(before_nb, after_nb) -> bool:
    """Whether two ``.nb`` files load in Paddle-Lite and hold the same ops (counted by type),
    inputs and outputs."""
    from tasks.export.lite import inspect_nb

    before, after = inspect_nb(before_nb), inspect_nb(after_nb)
    return before["loads"] and after["loads"] and all(
        before[key] == after[key] for key in ("ops", "input_names", "output_names"))


def compared(before, after) -> str:
    """"same", "same_ops" or "differ" (the rules of the module docstring)."""
    old, new = before.read_bytes(), after.read_bytes()
    if before.suffix == ".pdmodel":
        from tasks.export.inference_model import without_call_stacks
        old, new = without_call_stacks(old), without_call_stacks(new)
    if before.suffix != ".nb":
        return "same" if old == new else "differ"
    (old_header, old_program, old_weights), (new_header, new_program, new_weights) = nb_sections(old), nb_sections(new)
    if old_header != new_header or old_weights != new_weights:
        return "differ"
    if old_program == new_program:
        return "same"
    return "same_ops" if same_program_ops(before, after) else "differ"


def main(before, after):
    old, new = listed(before), listed(after)
    counts = {"same": 0, "same_ops": 0, "differ": 0, "only_before": 0, "only_after": 0}
    for name in sorted(old.keys() | new.keys()):
        if name not in new:
            key = "only_before"
        elif name not in old:
            key = "only_after"
        else:
            key = compared(old[name], new[name])
        if key != "same":
            print(f"{key}: {name}")
        counts[key] += 1
    print(" ".join(f"{key}={value}" for key, value in counts.items()))
    return 1 if counts["differ"] or counts["only_before"] or counts["only_after"] else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))

"""Load a state dict into a Paddle model by name, checking every key and shape.

    report = load_state(model, "tinypose_128x96.pdparams")        # strict: raises on any mismatch
    report = load_state(model, {"final_conv.weight": array, ...}, strict=False)

The names must equal the model's `state_dict()` names (PaddleDetection's own
names for the models in this project), so official `.pdparams` load with no
renaming. One tensor may be registered under several names (PaddleDetection's
PicoHeadV2 lists each head conv twice): the names that share a tensor form an
alias group, and any one of them in the file fills it. After loading, every
entry is read back and compared with what was given.
"""
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import paddle

# paddle.save of a Layer state dict may add this name -> parameter-name table; it holds no tensor
_METADATA_KEYS = {"StructuredToParameterName@@"}


class WeightsMismatchError(ValueError):
    """Raised by a strict `load_state` when names or shapes differ; `.report` holds the details."""

    def __init__(self, report):
        super().__init__(report.describe())
        self.report = report


@dataclass
class LoadReport:
    """Outcome of `load_state`. Names are the model's state_dict names unless noted."""
    source: str
    loaded: list = field(default_factory=list)          # model names that received a value
    missing: list = field(default_factory=list)         # model names with no value given (first of each alias group)
    unexpected: list = field(default_factory=list)      # given names the model does not have
    shape_mismatch: list = field(default_factory=list)  # (name, model shape, given shape)
    alias_conflicts: list = field(default_factory=list)  # (name, other given name) sharing a tensor but not equal
    filled_by_alias: dict = field(default_factory=dict)  # model name -> given alias that supplied it
    ignored_metadata: list = field(default_factory=list)  # given non-tensor entries (paddle.save metadata)
    missing_aliases: dict = field(default_factory=dict, repr=False)  # missing name -> all its alias names

    @property
    def ok(self):
        return not (self.missing or self.unexpected or self.shape_mismatch or self.alias_conflicts)

    def describe(self, limit=10):
        """Human-readable account: counts, the first `limit` of each problem, and a hint."""
        lines = [f"weights {self.source}: {len(self.loaded)} entries loaded, "
                 f"{len(self.missing)} missing, {len(self.unexpected)} unexpected, "
                 f"{len(self.shape_mismatch)} with another shape, "
                 f"{len(self.alias_conflicts)} conflicting aliases"]

        def section(title, rows, fmt):
            if rows:
                lines.append(f"  {title} ({len(rows)}, first {min(limit, len(rows))}):")
                lines.extend("    " + fmt(r) for r in rows[:limit])

        section("missing from the weights", self.missing, str)
        section("unexpected in the weights (not in the model)", self.unexpected, str)
        section("shape differs", self.shape_mismatch,
                lambda r: f"{r[0]}: model {list(r[1])}, weights {list(r[2])}")
        section("aliases of one tensor with different values", self.alias_conflicts,
                lambda r: f"{r[0]} != {r[1]}")
        hint = self.hint()
        if hint:
            lines.append("  hint: " + hint)
        return "\n".join(lines)

    def hint(self):
        missing_all = [n for m in self.missing for n in self.missing_aliases.get(m, [m])]
        prefix = _prefix_difference(missing_all, self.unexpected)
        if prefix:
            return prefix
        if self.shape_mismatch:
            return ("the weights were made for another configuration (channels, number of joints "
                    "or classes, network type); build the model with the matching configuration, "
                    "or pass strict=False to load only the entries that fit")
        if self.missing and not self.unexpected:
            return ("the weights hold only part of the model (e.g. a backbone-only checkpoint); "
                    "pass strict=False to load what is there")
        if self.unexpected and not self.missing:
            return "the weights hold more than the model (another architecture or head?)"
        if self.missing:
            return "names differ: the weights do not belong to this model class"
        return ""


def _extra_prefixes(names, others):
    """Count the shortest leading 'a.b.' of each name whose rest is one of `others`."""
    others, found = set(others), Counter()
    for name in names:
        parts = name.split(".")
        for k in range(1, len(parts)):
            if ".".join(parts[k:]) in others:
                found[".".join(parts[:k]) + "."] += 1
                break
    return found


def _prefix_difference(missing, unexpected):
    """Explain a consistent name prefix difference, e.g. weights saved from a wrapper layer."""
    extra, lacking = _extra_prefixes(unexpected, missing), _extra_prefixes(missing, unexpected)
    if extra:
        p, n = extra.most_common(1)[0]
        return f"{n} weight names carry an extra prefix {p!r}; strip it before loading"
    if lacking:
        p, n = lacking.most_common(1)[0]
        return f"{n} weight names lack the model's prefix {p!r}; add it before loading"
    return ""


def read_state(state_or_path):
    """Return ({name: np.ndarray}, source description, [ignored metadata keys])."""
    if isinstance(state_or_path, (str, Path)):
        path = Path(state_or_path)
        if not path.is_file():
            raise FileNotFoundError(f"weights file {path} does not exist")
        state, source = paddle.load(str(path), return_numpy=True), str(path)
    else:
        state, source = state_or_path, "<state dict>"
    if not isinstance(state, dict):
        raise ValueError(f"weights {source}: expected a state dict (name -> array), got {type(state).__name__}")
    if isinstance(state.get("model"), dict) and "optimizer" in state:
        raise ValueError(f"weights {source} is a training checkpoint (tasks.keypoint.train), not a state dict: "
                         "use the run's model_final.pdparams, or save the checkpoint's 'model' entry with "
                         "paddle.save(paddle.load(checkpoint)['model'], 'weights.pdparams')")
    arrays, ignored = {}, []
    for name, value in state.items():
        if name in _METADATA_KEYS or isinstance(value, (dict, str, bytes)):
            ignored.append(name)
            continue
        try:
            arrays[name] = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
        except ValueError as err:
            raise ValueError(f"weights {source}: entry {name!r} is not an array ({err})") from None
    return arrays, source, ignored


def alias_groups(model):
    """Model state_dict names grouped by the tensor they hold, in state_dict order."""
    groups = {}
    for name, tensor in model.state_dict().items():
        groups.setdefault(id(tensor), (tensor, []))[1].append(name)
    return list(groups.values())


def load_state(model, state_or_path, strict=True):
    """Copy the given weights into `model` by name; return a LoadReport.

    strict=True raises WeightsMismatchError (listing missing, unexpected and
    shape-mismatched names, with a hint) before anything is changed. strict=False
    loads every entry that fits and reports the rest. Values are cast to the
    model's dtype. Raises RuntimeError if a value is not found in the model
    after loading.
    """
    given, source, ignored = read_state(state_or_path)
    report = LoadReport(source=source, ignored_metadata=ignored)
    groups = alias_groups(model)
    known = {n for _, names in groups for n in names}
    report.unexpected = [n for n in given if n not in known]

    plan = []  # (tensor, names, value)
    for tensor, names in groups:
        present = [n for n in names if n in given]
        if not present:
            report.missing.append(names[0])
            report.missing_aliases[names[0]] = names
            continue
        value = given[present[0]]
        model_shape = tuple(tensor.shape)
        if tuple(value.shape) != model_shape:
            report.shape_mismatch.append((present[0], model_shape, tuple(value.shape)))
            continue
        conflicts = [(present[0], n) for n in present[1:] if not np.array_equal(given[n], value)]
        if conflicts:
            report.alias_conflicts.extend(conflicts)
            continue
        report.filled_by_alias.update({n: present[0] for n in names if n not in given})
        plan.append((tensor, names, value))

    if strict and not report.ok:
        raise WeightsMismatchError(report)
    for tensor, names, value in plan:
        tensor.set_value(np.ascontiguousarray(value).astype(_numpy_dtype(tensor)))
        report.loaded.extend(names)
    _verify(model, plan, source)
    return report


def _numpy_dtype(tensor):
    return np.dtype(str(tensor.dtype).replace("paddle.", ""))


def _verify(model, plan, source):
    """Read every loaded entry back from the model and compare it with the given value."""
    current = model.state_dict()
    wrong = [names[0] for _, names, value in plan
             if not np.array_equal(current[names[0]].numpy(),
                                   np.asarray(value).astype(_numpy_dtype(current[names[0]])))]
    if wrong:
        raise RuntimeError(f"weights {source}: {len(wrong)} entries did not land in the model "
                           f"after set_value, first: {wrong[:10]}")

"""Load a pretrained file whose names only end like the model's (PaddleDetection's `pretrain_weights`).

    report = load_pretrain_weights(model, "PPLCNet_x0_75_pretrained.pdparams")

The rule is PaddleDetection's (ppdet/utils/checkpoint.py, match_state_dict): a weight name
matches a model name that equals it or ends with "." + it; each model entry takes the
matching weight with the longest name, provided the shapes agree. So a PaddleClas backbone
file (`conv1.conv.weight`, `blocks2.0.dw_conv.conv.weight`, ...) fills
`backbone.conv1.conv.weight`, ... of a detector, and its classifier head is ignored (`fc.weight`
does end `head.conv_feat.se.0.fc.weight`, but with another shape: refused, as PaddleDetection
refuses it). A refused pair is named in the report and the log, never loaded; a weight claimed
by two model entries is an error. Model entries no weight filled keep their initial values.
`train.pretrained` (a whole model, strict) is tasks.common.weights.load_state.
"""
import logging
from dataclasses import dataclass, field

from tasks.common.weights import alias_groups, load_state, read_state

__all__ = ["PretrainReport", "match_by_suffix", "load_pretrain_weights"]

log = logging.getLogger(__name__)


@dataclass
class PretrainReport:
    source: str
    loaded: dict = field(default_factory=dict)    # model name -> weight name it took
    initialised: list = field(default_factory=list)  # model names left at their initial values
    ignored: list = field(default_factory=list)   # weight names no model entry took
    refused: list = field(default_factory=list)   # (model name, weight name, model shape, weight shape)

    def describe(self, limit=8) -> str:
        lines = [f"pretrain weights {self.source}: {len(self.loaded)} model entries loaded, "
                 f"{len(self.initialised)} left initialised, {len(self.ignored)} weights ignored"]
        refused = [f"{w} {list(ws)} for {m} {list(ms)}" for m, w, ms, ws in self.refused]
        for title, names in (("loaded", sorted(self.loaded)), ("refused, shape differs", refused),
                             ("left initialised", self.initialised),
                             ("ignored (no model entry ends with their name)", self.ignored)):
            if names:
                shown = ", ".join(names[:limit]) + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")
                lines.append(f"  {title}: {shown}")
        return "\n".join(lines)


def _matches(model_name: str, weight_name: str) -> bool:
    return model_name == weight_name or model_name.endswith("." + weight_name)


def match_by_suffix(model_shapes: dict, weights: dict, source: str) -> tuple:
    """({model name: weight name}, refused pairs) by the longest-suffix rule. model_shapes: the
    first name of each tensor (alias group) -> its shape; weights: name -> array. A pair whose
    shapes differ is refused: (model name, weight name, model shape, weight shape). ValueError
    when one weight is claimed by two model entries."""
    chosen, claimed, refused = {}, {}, []
    for model_name, shape in model_shapes.items():
        candidates = [w for w in weights if _matches(model_name, w)]
        if not candidates:
            continue
        weight_name = max(candidates, key=len)
        if tuple(weights[weight_name].shape) != tuple(shape):
            refused.append((model_name, weight_name, tuple(shape), tuple(weights[weight_name].shape)))
            continue
        if weight_name in claimed:
            raise ValueError(f"pretrain weights {source}: {weight_name} matches both {claimed[weight_name]} and "
                             f"{model_name} of the model; ambiguous, rename it in the file")
        chosen[model_name], claimed[weight_name] = weight_name, model_name
    return chosen, refused


def load_pretrain_weights(model, path) -> PretrainReport:
    """Fill `model` from `path` by suffix match (see the module); logs and returns the report."""
    weights, source, _ = read_state(path)
    groups = alias_groups(model)
    shapes = {names[0]: tuple(tensor.shape) for tensor, names in groups}
    chosen, refused = match_by_suffix(shapes, weights, source)
    if not chosen:
        raise ValueError(f"pretrain weights {source}: none of its {len(weights)} names ends any of the model's "
                         f"with the same shape (e.g. weights {sorted(weights)[:3]}, model {list(shapes)[:3]})")
    load_state(model, {model_name: weights[w] for model_name, w in chosen.items()}, strict=False)
    report = PretrainReport(source=source, loaded=chosen, refused=refused,
                            initialised=[name for name in shapes if name not in chosen],
                            ignored=sorted(set(weights) - set(chosen.values())))
    (log.warning if refused else log.info)("%s", report.describe())
    return report

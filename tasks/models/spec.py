"""What the code asks about a model: ``ArchitectureSpec`` (one per architecture) and
``ModelKind`` (what architectures of one kind share: training, evaluation, export, checks).

An architecture names its kind and adds only what differs: its config loader (schema and
rules), its builder and its default configs. The kinds are ``tasks.models.keypoint_kind``
(top-down heatmaps) and ``tasks.models.detector_kind`` (person boxes, NMS in the export).
"""
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class ModelKind:
    """The parts every architecture of a kind shares. Each callable imports its work on call,
    so importing the registry stays free of Paddle.

    name: "keypoint" or "detector": the role an export plays (``tasks.export.layout.infer_cfg.export_kind``).
    train_function(), evaluate_function(): the work functions (``tasks.engine.entry.train``'s
        signature; ``evaluate(config, weights, val_ann, image_root, out_dir, ...)``).
    reported_metrics: what an evaluation keeps in its manifest and logs.
    carries_nms: exported with NMS in the graph by default, or without it on request.
    infer_cfg(input_size, *, architecture, **options) -> the infer_cfg.yml dict (its writer in
        ``tasks.export.layout.infer_cfg``); infer_cfg_options(config or None, network, nms,
        with_nms) -> its options (a keypoint model's decoding from its config, a detector's NMS
        numbers and strides; ``network()`` builds the Layer).
    export_graph(model, nms, with_nms) -> the Layer as exported (NMS in the graph, output order);
        export_inputs(input_size, with_nms) -> {input name: shape}.
    rendered_inputs(input_size, normalize, with_nms), val_inputs(config, val_ann, image_root,
        fuse_normalize, with_nms) -> the arrays every export and conversion is checked on.
    comparison(nms, with_nms) -> {"tol", "score_floor"?}: how converted outputs are compared.
    fp16_check(model, config) -> arrays -> the FP16 weight-rounding estimate (raises over its limit).
    """
    name: str
    train_function: Callable
    evaluate_function: Callable
    reported_metrics: tuple
    carries_nms: bool
    infer_cfg: Callable
    infer_cfg_options: Callable
    export_graph: Callable
    export_inputs: Callable
    rendered_inputs: Callable
    val_inputs: Callable
    comparison: Callable
    fp16_check: Callable


@dataclass(frozen=True)
class ArchitectureSpec:
    """One architecture: ``name`` (a config's ``architecture:``), its ``kind``,
    ``load_config(path, overrides) -> dict`` (schema and rules), ``build_model(config) -> Layer``
    and ``default_configs`` (the configs the pipeline's nodes take when none is given, first
    the default)."""
    name: str
    kind: ModelKind
    load_config: Callable
    build_model: Callable
    default_configs: tuple = field(default=())

"""The architecture registry: one ``ArchitectureSpec`` per architecture holds everything the rest
of the code asks about a model (``tasks.models.spec``), and no other module tests a model's name.

    spec = spec_of(config)            # config["architecture"] -> its spec
    spec.build_model(config)          # the network
    spec.kind.train_function()        # the work functions, export inputs, checks, FP16 estimate ...

An architecture is added in one place: an ``ArchitectureSpec`` naming its kind (``KEYPOINT`` or
``DETECTOR``), config loader, builder and default configs, passed to ``register_architecture``
(docs/adding-a-model.md; ``tasks.models.builtin`` registers TinyPose and PicoDet).
"""
from tasks.models import builtin  # noqa: F401 (registers the shipped architectures)
from tasks.models.detector_kind import DETECTOR
from tasks.models.keypoint_kind import KEYPOINT
from tasks.models.registry import (ARCHITECTURES, architecture, build_infer_cfg, build_model, kind_configs,
                                   load_model_config, register_architecture, spec_named, spec_of)
from tasks.models.spec import ArchitectureSpec, ModelKind

__all__ = ["ARCHITECTURES", "ArchitectureSpec", "DETECTOR", "KEYPOINT", "ModelKind", "architecture",
           "build_infer_cfg", "build_model", "kind_configs", "load_model_config",
           "register_architecture", "spec_named", "spec_of"]

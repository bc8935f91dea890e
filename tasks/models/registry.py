"""The architectures the code knows, by name: ``register_architecture(spec)`` adds one.

Every question about a model goes through here: ``spec_of(config)``, ``spec_named(name)``,
``build_model(config)``, ``load_model_config(path)``, ``build_infer_cfg(name, input_size)``.

An architecture registered outside this package is found through its config's
``custom_imports`` (mmpose's key): the modules imported before the architecture is looked up,
in every process that reads the config (export and launcher processes included).
"""
import importlib

from tasks.common.config import ConfigError, read_config

ARCHITECTURES = {}


def register_architecture(spec):
    """Add ``spec`` (an ``ArchitectureSpec``) under its name; KeyError when another holds it."""
    if spec.name in ARCHITECTURES and ARCHITECTURES[spec.name] is not spec:
        raise KeyError(f"architecture {spec.name!r} is already registered")
    ARCHITECTURES[spec.name] = spec
    return spec


def import_custom_modules(config):
    """Import the modules a config lists under ``custom_imports`` (where its architecture is
    registered); ConfigError naming the module that cannot be imported."""
    for module in config.get("custom_imports") or ():
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(f"model config {config.get('name', '<unnamed>')!r}: custom_imports: cannot import "
                              f"{module!r} ({exc})") from exc


def architecture_problems(config, kind_name) -> list:
    """[(key, message)] when ``config``'s architecture (its ``custom_imports`` imported) is not a
    registered architecture of the kind ``kind_name``: a config loader's rule."""
    import_custom_modules(config)
    spec = ARCHITECTURES.get(config.get("architecture"))
    if spec is None or spec.kind.name != kind_name:
        known = sorted(name for name, s in ARCHITECTURES.items() if s.kind.name == kind_name)
        return [("architecture", f"{config.get('architecture')!r} is not a registered {kind_name} architecture "
                                 f"({', '.join(known)})")]
    return []


def spec_named(name):
    """The spec registered as ``name``; ValueError listing the known ones."""
    if name not in ARCHITECTURES:
        raise ValueError(f"architecture {name!r} is not one of {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name]


def spec_of(config):
    """The spec of a loaded config; ValueError naming the config when its architecture is unknown."""
    name = config.get("architecture")
    if name not in ARCHITECTURES:
        import_custom_modules(config)
    if name not in ARCHITECTURES:
        raise ValueError(f"model config {config.get('name', '<unnamed>')!r}: architecture {name!r} is not "
                         f"one of {sorted(ARCHITECTURES)} (set `architecture:` in the config)")
    return ARCHITECTURES[name]


def architecture(config) -> str:
    """The architecture a config describes (``spec_of``'s errors)."""
    return spec_of(config).name


def build_model(config):
    """The network of ``config`` (a loaded, validated config dict), freshly initialised."""
    return spec_of(config).build_model(config)


def load_model_config(path, overrides=()) -> dict:
    """Any model config file: its ``architecture:`` (after ``_base_`` merging) picks the loader,
    which applies ``overrides`` (``key.sub=value`` strings) and validates it. ConfigError naming
    the file when the architecture is missing or unknown."""
    raw = read_config(path)
    import_custom_modules(raw)
    name = raw.get("architecture")
    if name not in ARCHITECTURES:
        raise ConfigError(f"{path}: architecture {name!r} is not one of {sorted(ARCHITECTURES)} "
                          "(set `architecture:` in the config)")
    return ARCHITECTURES[name].load_config(path, overrides)


def build_infer_cfg(name, input_size, **options):
    """The infer_cfg.yml dict of architecture ``name`` for an input ``[w, h]``: its kind's writer,
    ``options`` passed on (fuse_normalize, mean, std; a detector's nms, with_nms, fpn_stride;
    a keypoint model's decode)."""
    return spec_named(name).kind.infer_cfg(input_size, architecture=name, **options)


def kind_configs(kind_name) -> list:
    """Every default config of the registered architectures of a kind, in registration order."""
    return [path for spec in ARCHITECTURES.values() if spec.kind.name == kind_name for path in spec.default_configs]

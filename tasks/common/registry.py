"""Name -> class registries: transforms and codecs are built from config entries by `type:`.

A config names an object as a mapping ``{type: Name, arg: value, ...}`` (mmpose and
PaddleDetection style), and a pipeline as a list of them, so a user changes a number
(a probability, a sigma, a size) in YAML, not in Python:

    TRANSFORMS = Registry("keypoint transform")

    @TRANSFORMS.register
    class RandomFlip: ...

    pipeline = TRANSFORMS.build_all(config["data"]["train_pipeline"],
                                    defaults={"input_size": config["model"]["input_size"]},
                                    where="data/train_pipeline")

``defaults`` are values the rest of the config already holds (the input size, the
normalization, the codec): each is passed only to a class whose constructor takes an
argument of that name and only when the entry does not set it, so one number lives
in one place.
"""
import inspect


class Registry:
    """Classes by name, for one kind of object (named in error messages)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._classes = {}

    def register(self, cls=None, *, name=None):
        """Register ``cls`` under ``name`` (its class name by default); usable as a decorator."""
        def add(klass):
            key = name or klass.__name__
            if key in self._classes and self._classes[key] is not klass:
                raise KeyError(f"{self.kind} {key!r} is already registered ({self._classes[key]!r})")
            self._classes[key] = klass
            return klass
        return add if cls is None else add(cls)

    def names(self) -> list:
        return sorted(self._classes)

    def get(self, name: str):
        """The class registered as ``name``; ValueError listing the known names."""
        if name not in self._classes:
            raise ValueError(f"unknown {self.kind} type {name!r}; known: {', '.join(self.names())}")
        return self._classes[name]

    def problems(self, spec, where=None) -> list:
        """[(where, message)] of what is wrong with an entry (not a mapping, no or an unknown
        `type`, arguments its class does not take); empty when it can be built."""
        where = where or self.kind
        if not isinstance(spec, dict) or "type" not in spec:
            return [(where, f"a {self.kind} entry must be a mapping with a 'type' key, got {spec!r}")]
        if spec["type"] not in self._classes:
            return [(where, f"unknown {self.kind} type {spec['type']!r}; known: {', '.join(self.names())}")]
        params = inspect.signature(self._classes[spec["type"]]).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return []
        unknown = sorted(set(spec) - {"type"} - set(params))
        if unknown:
            return [(where, f"{spec['type']} has no argument {', '.join(unknown)} (it takes: {', '.join(params)})")]
        return []

    def build(self, spec: dict, defaults=None, where=None):
        """``{type: Name, **args}`` -> ``Name(**args)``, ``defaults`` filling arguments it accepts.

        ``where`` names the config entry in error messages (e.g. ``data/train_pipeline/2``).
        """
        where = where or self.kind
        found = self.problems(spec, where)
        if found:
            raise ValueError("; ".join(f"{key}: {message}" for key, message in found))
        cls = self._classes[spec["type"]]
        params = inspect.signature(cls).parameters
        args = {key: value for key, value in spec.items() if key != "type"}
        for key, value in (defaults or {}).items():
            if key in params and key not in args:
                args[key] = value
        try:
            return cls(**args)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: {spec['type']}: {err}") from err

    def problems_all(self, specs, where=None) -> list:
        """``problems`` of every entry of a list (or of the value that should be one)."""
        where = where or self.kind
        if not isinstance(specs, list):
            return [(where, f"expected a list of {{type: ...}} entries, got {type(specs).__name__}")]
        return [found for i, spec in enumerate(specs) for found in self.problems(spec, f"{where}/{i}")]

    def build_all(self, specs, defaults=None, where=None) -> list:
        """A list of entries -> the list of objects, in order."""
        where = where or self.kind
        found = self.problems_all(specs, where)
        if found:
            raise ValueError("; ".join(f"{key}: {message}" for key, message in found))
        return [self.build(spec, defaults, f"{where}/{i}") for i, spec in enumerate(specs)]

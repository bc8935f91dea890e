"""The one way this project checks a document against a JSON Schema in schemas/."""
import functools
from pathlib import Path

import jsonschema
import orjson

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


@functools.lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    """``schemas/<name>.schema.json`` as a dict."""
    return orjson.loads((SCHEMA_DIR / f"{name}.schema.json").read_bytes())


@functools.lru_cache(maxsize=None)
def _validator(name: str):
    return jsonschema.Draft202012Validator(load_schema(name))


def schema_problems(document, name: str) -> list:
    """[(key path, message)] of every place `document` breaks schemas/<name>.schema.json,
    ordered by key path; empty when it is valid."""
    errors = sorted(_validator(name).iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    return [("/".join(map(str, e.absolute_path)) or "(top level)", e.message) for e in errors]


def check_schema(document, name: str, source, error=ValueError):
    """Raise `error` naming `source`, the schema and every offending key, if `document` is invalid."""
    problems = schema_problems(document, name)
    if problems:
        lines = "\n".join(f"  {key}: {message}" for key, message in problems)
        raise error(f"{source}: {len(problems)} problem(s) against schemas/{name}.schema.json:\n{lines}")
    return document

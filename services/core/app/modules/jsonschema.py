"""A small JSON Schema validator for module configuration (the subset config schemas use).

Supported: type, enum, const, minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength,
maxLength, pattern, properties, required, additionalProperties (bool or schema), items,
minItems, maxItems. Every failure is reported with the key path it concerns, so an answer can
name each failing key instead of the first one.

Patterns come from manifests, which are untrusted input: they run on RE2 (google-re2), whose
matching time is linear in the input, so `^(a+)+$` cannot freeze the event loop. Python-only
syntax (look-arounds, back-references) is refused when the manifest is registered.
"""

from functools import lru_cache
from typing import Any

import re2

Problem = tuple[str, str]  # (key path, message)

MAX_PATTERN_LENGTH = 1000
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_OPTIONS.max_mem = 1 << 22  # 4 MiB per compiled pattern: a pattern that needs more is refused


class BadPattern(ValueError):
    """The pattern is not one RE2 accepts (look-arounds and back-references are not supported)."""


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Any:
    """`pattern` compiled by RE2, or BadPattern saying why not."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise BadPattern(f"is longer than {MAX_PATTERN_LENGTH} characters")
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise BadPattern(f"is not a supported regular expression ({detail}); RE2 syntax, no look-arounds "
                         "or back-references") from exc


def pattern_problems(schema: Any, path: str) -> list[Problem]:
    """Every `pattern` in `schema` (nested too) that RE2 cannot compile."""
    problems: list[Problem] = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            where = f"{path}.{key}" if path else key
            if key == "pattern" and isinstance(value, str):
                try:
                    compile_pattern(value)
                except BadPattern as exc:
                    problems.append((where, str(exc)))
            else:
                problems += pattern_problems(value, where)
    elif isinstance(schema, list):
        for i, item in enumerate(schema):
            problems += pattern_problems(item, f"{path}[{i}]")
    return problems

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list,), "null": (type(None),),
}


def _is_type(value: Any, name: str) -> bool:
    if isinstance(value, bool) and name in {"integer", "number"}:
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(name, (object,)))


def validate(value: Any, schema: dict[str, Any], path: str = "") -> list[Problem]:
    """Every way `value` breaks `schema`, as (key path, message) pairs."""
    where = path or "(root)"
    problems: list[Problem] = []
    expected = schema.get("type")
    if expected is not None:
        names = expected if isinstance(expected, list) else [expected]
        if not any(_is_type(value, n) for n in names):
            return [(where, f"must be of type {' or '.join(names)}, got {type(value).__name__}")]
    if "enum" in schema and value not in schema["enum"]:
        problems.append((where, f"must be one of {schema['enum']}"))
    if "const" in schema and value != schema["const"]:
        problems.append((where, f"must be {schema['const']!r}"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        for key, test, word in (
            ("minimum", lambda v, b: v >= b, ">="), ("maximum", lambda v, b: v <= b, "<="),
            ("exclusiveMinimum", lambda v, b: v > b, ">"), ("exclusiveMaximum", lambda v, b: v < b, "<"),
        ):
            if key in schema and not test(value, schema[key]):
                problems.append((where, f"must be {word} {schema[key]}"))
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            problems.append((where, f"must have at least {schema['minLength']} characters"))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append((where, f"must have at most {schema['maxLength']} characters"))
        if "pattern" in schema:
            try:
                matched = compile_pattern(str(schema["pattern"])).search(value) is not None
            except BadPattern as exc:
                problems.append((where, f"cannot be checked: the pattern {exc}"))
            else:
                if not matched:
                    problems.append((where, f"must match {schema['pattern']}"))
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            problems.append((where, f"must have at least {schema['minItems']} items"))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append((where, f"must have at most {schema['maxItems']} items"))
        if isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                problems += validate(item, schema["items"], f"{path}[{i}]")
    if isinstance(value, dict):
        problems += _validate_object(value, schema, path)
    return problems


def _validate_object(value: dict[str, Any], schema: dict[str, Any], path: str) -> list[Problem]:
    problems: list[Problem] = []
    properties: dict[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            problems.append((f"{path}.{name}" if path else name, "is required"))
    additional = schema.get("additionalProperties", True)
    for key, item in value.items():
        sub = f"{path}.{key}" if path else key
        if key in properties:
            problems += validate(item, properties[key], sub)
        elif additional is False:
            problems.append((sub, "is not a configuration key of this module"))
        elif isinstance(additional, dict):
            problems += validate(item, additional, sub)
    return problems


def defaults(schema: dict[str, Any]) -> dict[str, Any]:
    """The `default` of each top-level property: the module tier of the configuration."""
    return {k: p["default"] for k, p in schema.get("properties", {}).items() if isinstance(p, dict) and "default" in p}


def known_keys_only(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` refusing unknown top-level keys unless it says otherwise (typos must not pass silently)."""
    if "additionalProperties" in schema or not schema.get("properties"):
        return schema
    return {**schema, "additionalProperties": False}

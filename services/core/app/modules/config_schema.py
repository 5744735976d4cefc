"""Modules' configuration schemas: JSON Schema Draft 2020-12, checked by the `jsonschema` package.

Manifests are untrusted input, so the library runs with three changes: `pattern` is matched by
RE2 (google-re2, linear time, so `^(a+)+$` cannot freeze the event loop); `$ref` may only point
inside the schema (`#/$defs/...`) and nothing is ever fetched; and a schema is refused when it uses a
keyword or `format` that would be silently ignored or evaluated unsafely (listed in `UNSUPPORTED`),
each problem named by its path. `format` is asserted, not merely annotated.
"""

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import re2
import referencing
import referencing.exceptions
from jsonschema import Draft202012Validator, ValidationError, validators
from referencing.jsonschema import DRAFT202012

Problem = tuple[str, str]  # (key path, message)

MAX_PATTERN_LENGTH = 1000
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_OPTIONS.max_mem = 1 << 22  # 4 MiB per compiled pattern: a pattern that needs more is refused

# Keywords refused with the reason: Python regexes on untrusted patterns, or identifiers that move
# the base URI (and with it what `$ref` may reach).
UNSUPPORTED = {
    "patternProperties": "is not supported (its patterns would run on Python's backtracking regexes)",
    "$id": "is not supported: a config schema is one document; use `$defs` and `#/$defs/...`",
    "$anchor": "is not supported: refer with a JSON pointer, `#/$defs/...`",
    "$dynamicAnchor": "is not supported: refer with a JSON pointer, `#/$defs/...`",
    "$dynamicRef": "is not supported: use `$ref` with a JSON pointer, `#/$defs/...`",
    "$vocabulary": "is not supported",
}
ANNOTATIONS = frozenset({
    "$schema", "$defs", "$comment", "title", "description", "default", "examples", "deprecated", "readOnly",
    "writeOnly", "contentEncoding", "contentMediaType", "contentSchema",
})
KNOWN = (frozenset(Draft202012Validator.VALIDATORS) | ANNOTATIONS) - set(UNSUPPORTED)
_SCHEMA_MAPS = frozenset({"properties", "$defs", "dependentSchemas"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SCHEMA_ONE = frozenset({"items", "not", "if", "then", "else", "additionalProperties", "contains", "propertyNames",
                         "unevaluatedItems", "unevaluatedProperties", "contentSchema"})


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


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    try:
        matched = compile_pattern(pattern).search(instance) is not None
    except BadPattern as exc:
        yield ValidationError(f"cannot be checked: the pattern {exc}")
    else:
        if not matched:
            yield ValidationError(f"must match {pattern}")


def _required(validator: Any, required: list[str], instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "object"):
        for name in required:
            if name not in instance:
                yield ValidationError("is required", path=[name])


def _additional(validator: Any, additional: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for key in [k for k in instance if k not in schema.get("properties", {})]:
        if additional is False:
            yield ValidationError("is not a configuration key of this module", path=[key])
        elif isinstance(additional, dict):
            yield from validator.descend(instance[key], additional, path=key)


_Validator = validators.extend(
    Draft202012Validator, {"pattern": _pattern, "required": _required, "additionalProperties": _additional}
)


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate(value: Any, schema: dict[str, Any], path: str = "") -> list[Problem]:
    """Every way `value` breaks `schema`, as (key path, message) pairs; `path` prefixes each path."""
    validator = _Validator(schema, registry=referencing.Registry(),  # an empty registry: nothing is fetched
                           format_checker=Draft202012Validator.FORMAT_CHECKER)
    problems: list[Problem] = []
    try:
        for error in validator.iter_errors(value):
            where = ".".join(p for p in (path, _path(error.absolute_path)) if p) or "(root)"
            problems.append((where, error.message))
    except referencing.exceptions.Unresolvable as exc:
        problems.append((path or "(root)", f"cannot be checked: {exc}"))
    return problems


def _keyword_problems(schema: Any, path: str) -> Iterator[Problem]:
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        where = f"{path}.{key}"
        if key in UNSUPPORTED:
            yield where, UNSUPPORTED[key]
        elif key not in KNOWN:
            yield where, "is not a JSON Schema (Draft 2020-12) keyword; it would be ignored"
        elif key == "$ref" and not str(value).startswith("#"):
            yield where, "must point inside the schema (`#/$defs/...`); nothing is fetched"
        elif key == "format" and value not in Draft202012Validator.FORMAT_CHECKER.checkers:
            known = ", ".join(sorted(Draft202012Validator.FORMAT_CHECKER.checkers))
            yield where, f"{value!r} is not a format core can check (known: {known})"
        elif key == "pattern" and isinstance(value, str):
            try:
                compile_pattern(value)
            except BadPattern as exc:
                yield where, str(exc)
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            for name, sub in value.items():
                yield from _keyword_problems(sub, f"{where}.{name}")
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            for i, sub in enumerate(value):
                yield from _keyword_problems(sub, f"{where}[{i}]")
        elif key in _SCHEMA_ONE:
            yield from _keyword_problems(value, where)


def _ref_problems(schema: Any, path: str, resolver: Any) -> Iterator[Problem]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#"):
                try:
                    resolver.lookup(value)
                except referencing.exceptions.Unresolvable:
                    yield f"{path}.$ref", f"{value!r} points to nothing in the schema"
            else:
                yield from _ref_problems(value, f"{path}.{key}", resolver)
    elif isinstance(schema, list):
        for i, item in enumerate(schema):
            yield from _ref_problems(item, f"{path}[{i}]", resolver)


def schema_problems(schema: dict[str, Any], path: str = "config_schema") -> list[Problem]:
    """Every reason `schema` cannot be a module's config schema, each with its path."""
    meta = [(".".join([path, _path(e.absolute_path)]).rstrip("."), e.message)
            for e in Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema)]
    if meta:
        return meta
    problems = list(_keyword_problems(schema, path))
    if not problems:
        resolver = referencing.Registry().resolver_with_root(DRAFT202012.create_resource(schema))
        problems = list(_ref_problems(schema, path, resolver))
    return problems


def default_problems(schema: dict[str, Any], path: str = "config_schema") -> list[Problem]:
    """Every property default that breaks its own property's schema."""
    problems: list[Problem] = []
    properties = {"properties": schema.get("properties", {}), "$defs": schema.get("$defs", {})}
    for key, value in defaults(schema).items():
        problems += [(f"{path}.properties.{key}.default", f"{where} {message}")
                     for where, message in validate({key: value}, properties)]
    return problems


def defaults(schema: dict[str, Any]) -> dict[str, Any]:
    """The `default` of each top-level property: the module tier of the configuration."""
    return {k: p["default"] for k, p in schema.get("properties", {}).items() if isinstance(p, dict) and "default" in p}


def known_keys_only(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` refusing unknown top-level keys unless it says otherwise (typos must not pass silently)."""
    if "additionalProperties" in schema or not schema.get("properties"):
        return schema
    return {**schema, "additionalProperties": False}

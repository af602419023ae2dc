"""Is a new minor version a compatible extension of the previous one?

A minor may only add optional properties, at any depth. Everything a reader of the old minor
relies on must hold unchanged: every property still there, the same required set, the same
types, enums, patterns, bounds and defaults. Annotations (title, description, examples) may
change. `$ref`s are followed, so a renamed definition is not a change in itself.
"""

import json
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

from contracts.registry import parse_version

ANNOTATIONS = frozenset(
    {"title", "description", "examples", "$comment", "$id", "$schema", "deprecated"}
)
SUBSCHEMAS = ("items", "additionalProperties", "propertyNames", "contains", "not")
SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
STRUCTURE = frozenset({"properties", "required", "$defs", "$ref", *SUBSCHEMAS, *SUBSCHEMA_LISTS})
Schema = dict[str, Any]
Seen = frozenset[tuple[str, str]]


class _Pair:
    """The two root schemas, against which `$ref`s resolve."""

    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self.roots = (old_root, new_root)

    def compare(self, old: Any, new: Any, path: str, seen: Seen) -> list[str]:
        if not (isinstance(old, dict) and isinstance(new, dict)):
            return [] if old == new else [f"{path}: changed from {old!r} to {new!r}"]
        refs = (old.get("$ref", ""), new.get("$ref", ""))
        if refs in seen:
            return []  # a recursive definition already being compared
        seen = seen | {refs} if any(refs) else seen
        old, new = _resolve(self.roots[0], old), _resolve(self.roots[1], new)
        problems = _keyword_changes(old, new, path)
        problems += self._properties(old, new, path, seen)
        for key in SUBSCHEMAS:
            problems += self._optional_subschema(old, new, key, f"{path}{_suffix(key)}", seen)
        for key in SUBSCHEMA_LISTS:
            problems += self._subschema_list(old, new, key, path, seen)
        return problems

    def _properties(self, old: Schema, new: Schema, path: str, seen: Seen) -> list[str]:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
        problems = []
        for name, schema in old_props.items():
            where = f"{path}.{name}" if path else name
            if name not in new_props:
                problems.append(f"{where}: property removed")
                continue
            if name in old_req and name not in new_req:
                problems.append(f"{where}: no longer required")
            if name in new_req and name not in old_req:
                problems.append(f"{where}: became required")
            problems += self.compare(schema, new_props[name], where, seen)
        for name in new_props.keys() - old_props.keys():
            if name in new_req:
                problems.append(f"{f'{path}.{name}' if path else name}: added as required")
        return problems

    def _optional_subschema(
        self, old: Schema, new: Schema, key: str, path: str, seen: Seen
    ) -> list[str]:
        if key not in old and key not in new:
            return []
        if key not in old or key not in new:
            return [f"{path}: {key} {'added' if key in new else 'removed'}"]
        return self.compare(old[key], new[key], path, seen)

    def _subschema_list(
        self, old: Schema, new: Schema, key: str, path: str, seen: Seen
    ) -> list[str]:
        old_list, new_list = old.get(key, []), new.get(key, [])
        if len(old_list) != len(new_list):
            return [f"{path or '(data)'}: {key} has {len(new_list)} branches, had {len(old_list)}"]
        problems = []
        for i, (a, b) in enumerate(zip(old_list, new_list, strict=True)):
            problems += self.compare(a, b, f"{path}<{key} {i}>", seen)
        return problems


def _resolve(root: Schema, schema: Schema) -> Schema:
    """The schema a `$ref` points to, with the referring schema's other keywords laid over it."""
    ref = schema.get("$ref")
    if ref is None:
        return schema
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported, not {ref!r}")
    target: Any = root
    for token in ref[2:].split("/"):
        target = target[token.replace("~1", "/").replace("~0", "~")]
    rest = {k: v for k, v in schema.items() if k != "$ref"}
    return _resolve(root, target) | rest


def _keyword_changes(old: Schema, new: Schema, path: str) -> list[str]:
    """Assertion keywords (type, enum, pattern, bounds, default, ...) must stay as they were."""
    keys = (old.keys() | new.keys()) - ANNOTATIONS - STRUCTURE
    return [
        f"{path or '(data)'}: {key} changed from {_shown(old, key)} to {_shown(new, key)}"
        for key in sorted(keys)
        if key not in old or key not in new or old[key] != new[key]
    ]


def _shown(schema: Schema, key: str) -> str:
    return repr(schema[key]) if key in schema else "(absent)"


def _suffix(key: str) -> str:
    return {"items": "[]", "additionalProperties": "{}", "propertyNames": "{keys}"}.get(
        key, f"<{key}>"
    )


def minor_compatibility_problems(old_schema: Schema, new_schema: Schema) -> list[str]:
    """Why `new_schema` is not a compatible next minor of `old_schema`; empty when it is."""
    return _Pair(old_schema, new_schema).compare(old_schema, new_schema, "", frozenset())


def schema_versions(root: Path) -> dict[str, list[tuple[int, int]]]:
    """Every event type under `root` (`<type>/<major>.<minor>.json`) with its sorted versions."""
    found: dict[str, list[tuple[int, int]]] = {}
    for path in root.glob("*/*.json"):
        found.setdefault(path.parent.name, []).append(parse_version(path.stem))
    return {event_type: sorted(versions) for event_type, versions in sorted(found.items())}


def consecutive_minors(root: Path) -> Iterator[tuple[Path, Path]]:
    """Each (older, newer) pair of schema files of the same type and major, in order."""
    for event_type, versions in schema_versions(root).items():
        for older, newer in pairwise(versions):
            if older[0] == newer[0]:
                yield (
                    root / event_type / f"{older[0]}.{older[1]}.json",
                    root / event_type / f"{newer[0]}.{newer[1]}.json",
                )


def schema_directory_problems(root: Path) -> list[str]:
    """Compatibility problems of every consecutive minor pair under `root`."""
    problems = []
    for older, newer in consecutive_minors(root):
        old, new = (json.loads(p.read_text(encoding="utf-8")) for p in (older, newer))
        label = f"{newer.parent.name} {older.stem} -> {newer.stem}"
        problems += [f"{label}: {p}" for p in minor_compatibility_problems(old, new)]
    return problems

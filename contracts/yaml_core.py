"""YAML read as the YAML 1.2 core schema, into plain JSON values.

Signed YAML documents (the agreements) are signed as the RFC 8785 bytes of what they hold, so
every implementation must read the same values from the same text. PyYAML speaks YAML 1.1,
which reads `yes`/`on` as booleans, `0755` as octal, `1_000` as 1000 and dates as date objects;
a YAML 1.2 library in Java or Go reads none of these so. This loader resolves plain scalars by
the 1.2 core schema only (null, bool, int, float; everything else, dates included, is a string)
and refuses what JSON cannot carry, and a key repeated in one mapping (YAML 1.2 forbids it).
"""

import math
import re
from collections.abc import Hashable
from typing import Any

import yaml

SAFE_INTEGER = 2**53 - 1
"""Largest integer RFC 8785 (I-JSON) carries exactly."""


class YamlValueError(ValueError):
    """Text that is not YAML, or YAML that does not hold JSON values."""


class CoreSchemaLoader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema's implicit types and nothing else."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """A mapping whose keys are unique, as YAML 1.2 requires: PyYAML keeps the last of a
        repeated key where a YAML 1.2 reader elsewhere refuses the file, so one signed text
        would hold different values for different readers."""
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # refused by SafeLoader below ("found unhashable key")
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """The value of `node`; a scalar its explicit tag cannot read (`!!int 0b1`,
        `!!bool maybe`, `!!timestamp nope`) is a YAML error with its position, not a crash."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, LookupError, AttributeError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a {_short(node.tag)}", node.start_mark
            ) from exc


def _short(tag: str) -> str:
    """`tag:yaml.org,2002:int` as it is written in the file: `!!int`."""
    return tag.replace("tag:yaml.org,2002:", "!!", 1)


# Start from no resolvers at all (PyYAML's 1.1 ones stay on SafeLoader).
CoreSchemaLoader.yaml_implicit_resolvers = {}


_CORE_TYPES = [
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    (
        "float",
        r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)",
        "-+.0123456789",
    ),
    ("null", r"~|null|Null|NULL|", "~nN"),
]
for _name, _pattern, _first in _CORE_TYPES:
    CoreSchemaLoader.add_implicit_resolver(
        f"tag:yaml.org,2002:{_name}",
        re.compile(rf"^(?:{_pattern})$"),
        [*_first] + ([""] if _name == "null" else []),
    )


def _core_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    # YAML 1.2: a leading 0 is decimal; octal and hex are written 0o and 0x.
    text = str(loader.construct_scalar(node))
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if digits.startswith(("0o", "0x")):
        return sign * int(digits[2:], 8 if digits[1] == "o" else 16)
    return sign * int(digits, 10)


CoreSchemaLoader.add_constructor("tag:yaml.org,2002:int", _core_int)


def load_json_yaml(text: str) -> Any:
    """The JSON value a YAML text holds; raises YamlValueError in one line with the position."""
    try:
        value = yaml.load(text, Loader=CoreSchemaLoader)
        problem = _not_json(value, "")
    except yaml.YAMLError as exc:
        raise YamlValueError(f"not valid YAML: {_yaml_problem(exc)}") from exc
    except RecursionError as exc:  # `&a [*a]` holds itself; JSON has no such value
        raise YamlValueError("not valid YAML: nested too deeply, or an alias holds itself") from exc
    if problem:
        raise YamlValueError(problem)
    return value


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """Where and what, without PyYAML's multi-line excerpt."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return str(exc).splitlines()[0]
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    context = f" ({exc.context})" if exc.context else ""
    return f"{where}{exc.problem or 'unreadable'}{context}"


def _not_json(value: Any, path: str) -> str | None:
    """The first place where `value` holds something JSON cannot carry, or None."""
    where = path or "(top)"
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where}: key {key!r} is not a string (quote it)"
            problem = _not_json(item, f"{path}.{key}" if path else key)
            if problem:
                return problem
        return None
    if isinstance(value, list):
        return next(
            (p for i, item in enumerate(value) if (p := _not_json(item, f"{where}.{i}"))), None
        )
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where}: {value} is not a JSON number"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > SAFE_INTEGER:
        return f"{where}: {value} is larger than JSON carries exactly"
    if value is None or isinstance(value, str | int | float | bool):
        return None
    return f"{where}: a {type(value).__name__} is not a JSON value"

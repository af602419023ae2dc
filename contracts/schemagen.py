"""Generate the JSON Schema (draft 2020-12) of every event contract into contracts/schemas/.

    python -m contracts.schemagen           # write contracts/schemas/<type>/<major>.<minor>.json
    python -m contracts.schemagen --check   # exit 1, naming every file that differs

A schema describes an event's `data` once its personal fields are opened (on the wire they are
`pd1:` ciphertexts). Its `$id` is the `dataschema` envelopes carry. Formatting is stable: sorted
keys, 2-space indent, UTF-8, trailing newline, so the committed files diff cleanly.
"""

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from contracts import SCHEMAS_DIR
from contracts.catalogue import ALL_CONTRACTS
from contracts.events.base import EventData
from contracts.events.examples import EXAMPLES
from contracts.registry import schema_uri

DIALECT = "https://json-schema.org/draft/2020-12/schema"


class ContractSchema(GenerateJsonSchema):
    """Pydantic's generator, with maps stated exactly: `propertyNames` for the keys and
    `additionalProperties` for the values (patternProperties would let other keys through)."""

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        keys = dict(self.generate_inner(schema["keys_schema"])) if "keys_schema" in schema else {}
        values = (
            dict(self.generate_inner(schema["values_schema"])) if "values_schema" in schema else {}
        )
        for part in (keys, values):
            part.pop("title", None)
        if keys.get("type") == "string":
            del keys["type"]  # property names are strings already
        json_schema: JsonSchemaValue = {"type": "object", "additionalProperties": values or True}
        if keys:
            json_schema["propertyNames"] = keys
        self.update_with_validations(json_schema, schema, self.ValidationsMapping.object)
        return json_schema


def event_schema(model: type[EventData]) -> dict[str, Any]:
    """The JSON Schema of one contract version, with its `$id` and its example."""
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "$id": schema_uri(model.event_type, model.version),
        **model.model_json_schema(mode="validation", schema_generator=ContractSchema),
    }
    if model in EXAMPLES:
        schema["examples"] = [EXAMPLES[model]]
    return schema


def render(schema: dict[str, Any]) -> str:
    """The stable text of a schema file."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def schema_path(root: Path, event_type: str, version: tuple[int, int]) -> Path:
    """`<root>/<type>/<major>.<minor>.json`."""
    return root / event_type / f"{version[0]}.{version[1]}.json"


def expected_files(models: Iterable[type[EventData]], root: Path) -> dict[Path, str]:
    """Every schema file the models call for, with its text."""
    return {schema_path(root, m.event_type, m.version): render(event_schema(m)) for m in models}


def differing_files(models: Iterable[type[EventData]], root: Path) -> list[str]:
    """Files missing, different from the models, or left with no model; empty when in step."""
    expected = expected_files(models, root)
    problems = [
        f"{path.relative_to(root)}: {'missing' if not path.exists() else 'differs'}"
        for path, text in sorted(expected.items())
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    problems += [
        f"{path.relative_to(root)}: no contract model"
        for path in sorted(root.glob("*/*.json"))
        if path not in expected
    ]
    return problems


def write_schemas(models: Iterable[type[EventData]], root: Path) -> list[Path]:
    """Write every schema file whose text changed; returns the files written."""
    written = []
    for path, text in sorted(expected_files(models, root).items()):
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m contracts.schemagen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    parser.add_argument("--out", type=Path, default=SCHEMAS_DIR, help="schema directory")
    args = parser.parse_args(argv)
    root: Path = args.out
    if args.check:
        problems = differing_files(ALL_CONTRACTS, root)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    for path in write_schemas(ALL_CONTRACTS, root):
        print(f"wrote {path.relative_to(root)}")
    stale = [p for p in differing_files(ALL_CONTRACTS, root) if p.endswith("no contract model")]
    for problem in stale:
        print(problem, file=sys.stderr)  # published contracts are never deleted automatically
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())

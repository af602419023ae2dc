import json
from pathlib import Path

import jsonschema
import pytest

from contracts import SCHEMAS_DIR
from contracts.catalogue import ALL_CONTRACTS
from contracts.events.disputes import DisputeReportedV1
from contracts.events.examples import EXAMPLES
from contracts.events.reports import ReportProposedV1
from contracts.registry import schema_uri
from contracts.schemagen import (
    event_schema,
    expected_files,
    main,
    render,
    schema_path,
    write_schemas,
)


def _validator(model):
    schema = json.loads(schema_path(SCHEMAS_DIR, model.event_type, model.version).read_text())
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_committed_schemas_equal_the_generated_ones():
    for path, text in expected_files(ALL_CONTRACTS, SCHEMAS_DIR).items():
        assert path.read_text(encoding="utf-8") == text, f"regenerate {path}"


def test_every_contract_has_a_schema_file_and_no_schema_file_lacks_a_contract():
    expected = {schema_path(SCHEMAS_DIR, m.event_type, m.version) for m in ALL_CONTRACTS}
    assert all(p.is_file() for p in expected)
    assert set(SCHEMAS_DIR.glob("*/*.json")) == expected
    assert main(["--check"]) == 0


@pytest.mark.parametrize("model", ALL_CONTRACTS, ids=lambda m: m.event_type)
def test_schema_is_draft_2020_12_named_by_its_dataschema_and_accepts_its_example(model):
    schema = event_schema(model)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == schema_uri(model.event_type, model.version)
    _validator(model).validate(EXAMPLES[model])


def test_schema_rejects_what_the_model_rejects():
    validator = _validator(DisputeReportedV1)
    example = EXAMPLES[DisputeReportedV1]
    bad = [
        example | {"level": 6},
        example | {"category": "witchcraft"},
        example | {"occurred_on": "2022-02-30"},
        example | {"parties": []},
        {k: v for k, v in example.items() if k != "dispute_id"},
    ]
    assert all(not validator.is_valid(b) for b in bad)


def test_schema_maps_refuse_keys_the_model_refuses():
    validator = _validator(ReportProposedV1)
    figures = EXAMPLES[ReportProposedV1]["figures"]
    disputes = figures["disputes"] | {"by_level": {"9": 1}}
    assert not validator.is_valid(
        EXAMPLES[ReportProposedV1] | {"figures": figures | {"disputes": disputes}}
    )


def test_schema_files_are_stably_formatted():
    text = render({"b": 1, "a": {"d": "枫桥", "c": [1]}})
    assert text == '{\n  "a": {\n    "c": [\n      1\n    ],\n    "d": "枫桥"\n  },\n  "b": 1\n}\n'


def _tamper(root: Path) -> None:
    write_schemas(ALL_CONTRACTS, root)
    changed = schema_path(root, "dispute.reported", (1, 0))
    changed.write_text(changed.read_text().replace("Parties", "Partygoers"))
    schema_path(root, "bus.receipt", (1, 0)).unlink()
    (root / "dispute.reopened").mkdir()
    (root / "dispute.reopened" / "1.0.json").write_text("{}\n")


def test_check_exits_1_and_names_each_differing_file(tmp_path, capsys):
    _tamper(tmp_path)
    assert main(["--check", "--out", str(tmp_path)]) == 1
    named = capsys.readouterr().err.splitlines()
    assert sorted(named) == [
        "bus.receipt/1.0.json: missing",
        "dispute.reopened/1.0.json: no contract model",
        "dispute.reported/1.0.json: differs",
    ]


def test_generation_rewrites_what_changed_and_leaves_unknown_files_for_a_person(tmp_path):
    _tamper(tmp_path)
    assert main(["--out", str(tmp_path)]) == 1  # the stale file is not deleted automatically
    assert (tmp_path / "dispute.reopened" / "1.0.json").exists()
    (tmp_path / "dispute.reopened" / "1.0.json").unlink()
    assert main(["--check", "--out", str(tmp_path)]) == 0

"""A new minor may only add optional properties; test-only v1.1 models show what breaks that."""

import json
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from contracts import SCHEMAS_DIR
from contracts.catalogue import ALL_CONTRACTS
from contracts.compat import (
    consecutive_minors,
    minor_compatibility_problems,
    schema_directory_problems,
    schema_versions,
)
from contracts.events.base import EventData
from contracts.events.common import CaseId, Day, Person, RiskGrade
from contracts.events.disputes import DisputeRegradedV1, DisputeReportedV1
from contracts.schemagen import event_schema, render, schema_path


class PersonWithEthnicity(Person):
    ethnicity: str | None = None


class PersonWithRequiredPhone(Person):
    phone: str = Field(pattern=r"^\+?[0-9 -]{5,20}$")


class WiderCategory(StrEnum):
    LAND = "land"
    WATER = "water"


class ReportedAddsOptionalFieldsV1_1(DisputeReportedV1):
    version: ClassVar[tuple[int, int]] = (1, 1)
    parties: list[PersonWithEthnicity] = Field(min_length=1, max_length=50)
    witnesses: list[Person] = Field(default=[])
    village: str | None = None


class ReportedAddsRequiredFieldV1_1(DisputeReportedV1):
    version: ClassVar[tuple[int, int]] = (1, 1)
    reporter_badge: str


class ReportedLevelAsTextV1_1(DisputeReportedV1):
    version: ClassVar[tuple[int, int]] = (1, 1)
    level: str = "1"  # type: ignore[assignment]


class ReportedWiderCategoryV1_1(DisputeReportedV1):
    version: ClassVar[tuple[int, int]] = (1, 1)
    category: WiderCategory  # type: ignore[assignment]


class ReportedLooserDayV1_1(DisputeReportedV1):
    version: ClassVar[tuple[int, int]] = (1, 1)
    occurred_on: str = Field(pattern=r"^[0-9]{8}$")


class ReportedShorterNarrativeV1_1(DisputeReportedV1):
    version: ClassVar[tuple[int, int]] = (1, 1)
    narrative: str = Field(min_length=1, max_length=500)


class ReportedPhoneRequiredV1_1(DisputeReportedV1):
    version: ClassVar[tuple[int, int]] = (1, 1)
    parties: list[PersonWithRequiredPhone] = Field(min_length=1, max_length=50)


class ReportedAddsRequiredFieldV1_2(ReportedAddsOptionalFieldsV1_1):
    version: ClassVar[tuple[int, int]] = (1, 2)
    reporter_badge: str


class RegradedWithoutReasonV1_1(EventData):
    event_type: ClassVar[str] = "dispute.regraded"
    version: ClassVar[tuple[int, int]] = (1, 1)

    dispute_id: CaseId
    previous_risk: RiskGrade
    risk: RiskGrade
    regraded_on: Day


def _problems(old: type[EventData], new: type[EventData]) -> list[str]:
    return minor_compatibility_problems(event_schema(old), event_schema(new))


def test_adding_optional_fields_at_the_top_and_nested_is_compatible():
    assert _problems(DisputeReportedV1, ReportedAddsOptionalFieldsV1_1) == []


def test_a_schema_is_compatible_with_itself():
    for model in ALL_CONTRACTS:
        assert _problems(model, model) == [], model.event_type


def test_adding_a_required_field_is_a_problem():
    assert _problems(DisputeReportedV1, ReportedAddsRequiredFieldV1_1) == [
        "reporter_badge: added as required"
    ]


def test_removing_a_field_is_a_problem():
    assert _problems(DisputeRegradedV1, RegradedWithoutReasonV1_1) == ["reason: property removed"]


def test_changing_a_type_is_a_problem():
    problems = _problems(DisputeReportedV1, ReportedLevelAsTextV1_1)
    assert "level: type changed from 'integer' to 'string'" in problems
    assert "level: default changed from 1 to '1'" in problems


def test_widening_an_enum_is_a_problem_for_old_readers():
    problems = _problems(DisputeReportedV1, ReportedWiderCategoryV1_1)
    assert len(problems) == 1 and problems[0].startswith("category: enum changed")


def test_changing_a_pattern_is_a_problem():
    problems = _problems(DisputeReportedV1, ReportedLooserDayV1_1)
    assert any(p.startswith("occurred_on: pattern changed") for p in problems)


def test_tightening_a_constraint_is_a_problem():
    assert _problems(DisputeReportedV1, ReportedShorterNarrativeV1_1) == [
        "narrative: maxLength changed from 10000 to 500"
    ]


def test_a_nested_field_becoming_required_is_a_problem():
    problems = _problems(DisputeReportedV1, ReportedPhoneRequiredV1_1)
    assert "parties[].phone: became required" in problems
    assert "parties[].phone: default changed from None to (absent)" in problems


def test_committed_schemas_every_consecutive_minor_pair_is_compatible():
    versions = schema_versions(SCHEMAS_DIR)
    assert set(versions) == {m.event_type for m in ALL_CONTRACTS}
    assert all(vs and vs[0][1] == 0 for vs in versions.values())  # each major starts at .0
    assert schema_directory_problems(SCHEMAS_DIR) == []


def _write(root, model, version):
    path = schema_path(root, model.event_type, version)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(event_schema(model)))


def test_directory_walk_checks_each_consecutive_minor_and_names_the_bad_pair(tmp_path):
    _write(tmp_path, DisputeReportedV1, (1, 0))
    _write(tmp_path, ReportedAddsOptionalFieldsV1_1, (1, 1))
    _write(tmp_path, ReportedAddsRequiredFieldV1_2, (1, 2))
    _write(tmp_path, DisputeReportedV1, (2, 0))  # a new major may change anything
    pairs = [(a.stem, b.stem) for a, b in consecutive_minors(tmp_path)]
    assert pairs == [("1.0", "1.1"), ("1.1", "1.2")]
    assert schema_directory_problems(tmp_path) == [
        "dispute.reported 1.1 -> 1.2: reporter_badge: added as required"
    ]


def test_renamed_definitions_are_not_changes_but_their_contents_are():
    old = json.loads(render(event_schema(DisputeReportedV1)))
    new = json.loads(json.dumps(old).replace("#/$defs/Person", "#/$defs/Resident"))
    new["$defs"]["Resident"] = new["$defs"].pop("Person")
    assert minor_compatibility_problems(old, new) == []
    new["$defs"]["Resident"]["properties"]["name"]["maxLength"] = 50
    assert minor_compatibility_problems(old, new) == [
        "parties[].name: maxLength changed from 100 to 50"
    ]

from typing import Any, ClassVar

import pytest

from contracts.catalogue import ALL_CONTRACTS, UPCASTERS, default_registry
from contracts.errors import SchemaViolation, UnknownContractVersion, UnknownEventType
from contracts.events.base import EventData
from contracts.events.disputes import DisputeReportedV1
from contracts.events.examples import EXAMPLES
from contracts.registry import ContractRegistry

REPORTED = EXAMPLES[DisputeReportedV1]


def test_unknown_major_is_refused_naming_the_known_majors():
    with pytest.raises(UnknownContractVersion) as refused:
        default_registry().read("dispute.reported", (2, 0), REPORTED)
    assert "major version 2" in str(refused.value)
    assert "known: 1" in str(refused.value)


def test_higher_minor_is_read_and_its_extra_fields_are_ignored_at_every_depth():
    newer = REPORTED | {
        "witness_count": 3,
        "parties": [REPORTED["parties"][0] | {"ethnicity": "Han"}, *REPORTED["parties"][1:]],
    }
    event = default_registry().read("dispute.reported", (1, 7), newer)
    assert isinstance(event, DisputeReportedV1)
    dumped = event.model_dump(mode="json", exclude_none=True)
    assert "witness_count" not in dumped
    assert "ethnicity" not in dumped["parties"][0]
    assert dumped == DisputeReportedV1.model_validate(REPORTED).model_dump(
        mode="json", exclude_none=True
    )


def test_unknown_event_type_is_refused():
    with pytest.raises(UnknownEventType, match=r"dispute\.reopened"):
        default_registry().read("dispute.reopened", (1, 0), REPORTED)


def test_bad_data_is_a_schema_violation_naming_the_field():
    bad = REPORTED | {
        "parties": [REPORTED["parties"][0] | {"id_number": "12345"}],
        "level": 9,
    }
    with pytest.raises(SchemaViolation) as refused:
        default_registry().read("dispute.reported", (1, 0), bad)
    assert "parties.0.id_number" in refused.value.detail
    assert "level" in refused.value.detail


def test_missing_field_is_a_schema_violation_naming_it():
    incomplete = {k: v for k, v in REPORTED.items() if k != "occurred_on"}
    with pytest.raises(SchemaViolation, match="occurred_on"):
        default_registry().read("dispute.reported", (1, 0), incomplete)


def test_default_registry_knows_every_contract_and_is_built_fresh_on_each_call():
    first, second = default_registry(), default_registry()
    assert first is not second
    assert set(first) == set(ALL_CONTRACTS)
    assert len(first.event_types) == len(ALL_CONTRACTS)


def test_upcasters_table_is_consistent_with_the_contracts():
    registry = ContractRegistry(ALL_CONTRACTS, UPCASTERS)
    assert registry.upcaster_problems() == []


class ParcelNotedV1(EventData):
    event_type: ClassVar[str] = "test.parcel_noted"
    version: ClassVar[tuple[int, int]] = (1, 0)

    parcel_id: str
    weight_kg: float


class ParcelNotedV2(EventData):
    event_type: ClassVar[str] = "test.parcel_noted"
    version: ClassVar[tuple[int, int]] = (2, 0)

    parcel_id: str
    weight_grams: int
    fragile: bool


def upcast_parcel_noted_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
    rest = {k: v for k, v in data.items() if k != "weight_kg"}
    return rest | {"weight_grams": round(data["weight_kg"] * 1000), "fragile": False}


def test_v1_payload_is_read_as_v2_through_a_pure_upcaster():
    registry = ContractRegistry(
        [ParcelNotedV1, ParcelNotedV2],
        {("test.parcel_noted", 1): upcast_parcel_noted_v1_v2},
    )
    payload = {"parcel_id": "P-1", "weight_kg": 1.25}
    event = registry.read("test.parcel_noted", (1, 0), payload)
    assert isinstance(event, ParcelNotedV2)
    assert (event.parcel_id, event.weight_grams, event.fragile) == ("P-1", 1250, False)
    assert payload == {"parcel_id": "P-1", "weight_kg": 1.25}  # the upcaster did not mutate it


def test_v2_payload_is_read_as_v2_without_upcasting():
    registry = ContractRegistry(
        [ParcelNotedV1, ParcelNotedV2],
        {("test.parcel_noted", 1): upcast_parcel_noted_v1_v2},
    )
    event = registry.read(
        "test.parcel_noted", (2, 0), {"parcel_id": "P-2", "weight_grams": 5, "fragile": True}
    )
    assert isinstance(event, ParcelNotedV2) and event.fragile


def test_a_new_major_without_its_upcaster_is_refused_when_the_registry_is_built():
    with pytest.raises(ValueError, match=r"test.parcel_noted 1.x has no upcaster to 2.x"):
        ContractRegistry([ParcelNotedV1, ParcelNotedV2])


def test_an_upcaster_for_a_type_that_does_not_exist_is_refused():
    with pytest.raises(ValueError, match="names no known contract"):
        ContractRegistry([ParcelNotedV1], {("test.parcel_lost", 1): upcast_parcel_noted_v1_v2})

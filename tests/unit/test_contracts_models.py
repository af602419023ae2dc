import json

import pytest
from pydantic import ValidationError

from contracts.catalogue import ALL_CONTRACTS, CASE_ID_FIELDS, case_id, personal_data_paths
from contracts.events import examples
from contracts.events.base import EventData
from contracts.events.bus import CumulativeReceiptV1
from contracts.events.common import PERSONAL_FIELDS
from contracts.events.disputes import DisputeEscalatedV1, DisputeRegradedV1, DisputeReportedV1
from contracts.events.examples import EXAMPLES
from contracts.events.mediation import (
    MediationOutcome,
    MediationOutcomeProposedV1,
    MediationOutcomeSignedV1,
    outcome_digest,
)
from contracts.events.registry import RegistryProxyRequestedV1
from contracts.events.reports import ReportCosignedV1, ReportFigures, figures_digest
from contracts.schemagen import event_schema
from services.bus.personal_data import locate

EVENT_TYPES = [
    *("dispute.reported", "dispute.regraded", "dispute.escalated", "dispute.resolved"),
    "dispute.closed",
    *("mediation.requested", "mediation.accepted", "mediation.declined"),
    *("mediation.task_assigned", "mediation.findings_reported", "mediation.outcome_proposed"),
    *("mediation.outcome_signed", "mediation.closed"),
    *("registry.proxy_requested", "registry.accepted", "registry.materials_requested"),
    *("registry.materials_supplied", "registry.completed", "registry.rejected"),
    "registry.material_uploaded",
    "bus.receipt",
    *("report.proposed", "report.cosigned"),
]


def test_the_contracts_are_exactly_the_agreed_event_types_at_version_1_0():
    assert [m.event_type for m in ALL_CONTRACTS] == EVENT_TYPES
    assert all(issubclass(m, EventData) and m.version == (1, 0) for m in ALL_CONTRACTS)


@pytest.mark.parametrize("model", ALL_CONTRACTS, ids=lambda m: m.event_type)
def test_every_event_names_its_case_so_a_handler_can_find_it(model):
    event = model.model_validate(EXAMPLES[model])
    flow = model.event_type.partition(".")[0]
    if flow == "bus":
        assert case_id(event) is None
        return
    field = CASE_ID_FIELDS[flow]
    assert model.model_fields[field].is_required()
    assert case_id(event) == EXAMPLES[model][field]


@pytest.mark.parametrize("model", ALL_CONTRACTS, ids=lambda m: m.event_type)
def test_example_survives_a_json_round_trip(model):
    event = model.model_validate(EXAMPLES[model])
    again = model.model_validate_json(event.model_dump_json(exclude_none=True))
    assert again == event


def _properties_named(schema, names, where=""):
    """(definition, property) for each property whose name is in `names`, at any depth."""
    found = []
    for key, value in schema.items():
        if key == "properties":
            found += [(where, p) for p in value if p in names]
        if isinstance(value, dict):
            found += _properties_named(value, names, value.get("title", where))
    return found


@pytest.mark.parametrize("model", ALL_CONTRACTS, ids=lambda m: m.event_type)
def test_personal_data_fields_exist_only_on_person(model):
    found = _properties_named(event_schema(model), set(PERSONAL_FIELDS))
    assert {definition for definition, _ in found} <= {"Person"}


@pytest.mark.parametrize("model", ALL_CONTRACTS, ids=lambda m: m.event_type)
def test_personal_data_paths_are_patterns_the_bus_can_locate(model):
    data = EXAMPLES[model]
    for pattern in personal_data_paths(model):
        for path, container, key in locate(data, pattern):
            assert path.rsplit(".", 1)[-1] in PERSONAL_FIELDS
            assert container[key] is not None


def test_personal_data_paths_reach_into_lists_and_optional_people():
    assert personal_data_paths(DisputeReportedV1) == [
        "parties[].id_number",
        "parties[].phone",
        "parties[].address",
    ]
    assert personal_data_paths(RegistryProxyRequestedV1)[:3] == [
        "applicant.id_number",
        "applicant.phone",
        "applicant.address",
    ]
    assert personal_data_paths(CumulativeReceiptV1) == []


def test_signatures_quote_the_digest_of_the_proposed_outcome():
    proposed = MediationOutcomeProposedV1.model_validate(EXAMPLES[MediationOutcomeProposedV1])
    signed = MediationOutcomeSignedV1.model_validate(EXAMPLES[MediationOutcomeSignedV1])
    assert outcome_digest(proposed.outcome) == proposed.terms_digest == signed.terms_digest
    assert outcome_digest(examples.OUTCOME) == examples.OUTCOME_DIGEST


def test_outcome_digest_changes_with_any_term_or_amount():
    outcome = MediationOutcome.model_validate(examples.OUTCOME)
    payment = outcome.compensation[0].model_copy(update={"amount_fen": 98_001})
    assert outcome_digest(outcome.model_copy(update={"compensation": [payment]})) != (
        outcome_digest(outcome)
    )
    assert outcome_digest(examples.OUTCOME | {"terms": ["something else"]}) != (
        outcome_digest(outcome)
    )


def test_cosigners_sign_the_digest_of_the_proposed_figures():
    figures = ReportFigures.model_validate(examples.FIGURES)
    cosigned = ReportCosignedV1.model_validate(EXAMPLES[ReportCosignedV1])
    assert figures_digest(figures) == figures_digest(examples.FIGURES) == cosigned.figures_digest


def test_a_regrade_must_change_the_grade_and_an_escalation_must_go_up():
    regrade = EXAMPLES[DisputeRegradedV1] | {"risk": "medium"}
    with pytest.raises(ValidationError, match="changes the risk grade"):
        DisputeRegradedV1.model_validate(regrade)
    escalation = EXAMPLES[DisputeEscalatedV1] | {"level": 2}
    with pytest.raises(ValidationError, match="higher level"):
        DisputeEscalatedV1.model_validate(escalation)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("occurred_on", "2022-02-30"),
        ("occurred_on", "2022-2-3"),
        ("occurred_on", "２０２２-02-03"),  # full-width digits are not ASCII digits
        ("dispute_id", "-leading-dash"),
        ("category", "witchcraft"),
    ],
)
def test_dispute_report_refuses_malformed_values(field, value):
    with pytest.raises(ValidationError) as refused:
        DisputeReportedV1.model_validate(EXAMPLES[DisputeReportedV1] | {field: value})
    assert refused.value.errors()[0]["loc"][0] == field


def test_money_is_whole_fen_and_instants_have_one_form():
    signed = EXAMPLES[MediationOutcomeSignedV1]
    for bad in ("2022-02-20T07:15:00Z", "2022-02-20 07:15:00.000Z", "2022-02-30T07:15:00.000Z"):
        with pytest.raises(ValidationError):
            MediationOutcomeSignedV1.model_validate(signed | {"signed_at": bad})
    payment = examples.OUTCOME["compensation"][0] | {"amount_fen": 980.5}
    with pytest.raises(ValidationError, match="amount_fen"):
        MediationOutcome.model_validate(examples.OUTCOME | {"compensation": [payment]})


def test_a_report_carries_the_chain_heads_of_both_directions():
    one_way = examples.FIGURES | {"chain_heads": examples.FIGURES["chain_heads"][:1]}
    with pytest.raises(ValidationError, match="chain_heads"):
        ReportFigures.model_validate(one_way)


def test_examples_carry_only_synthetic_identity_numbers_with_valid_check_digits():
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    numbers = {
        v for m in ALL_CONTRACTS for v in _strings(EXAMPLES[m]) if len(v) == 18 and v[:6].isdigit()
    }
    assert numbers
    for number in numbers:
        total = sum(int(d) * w for d, w in zip(number[:17], weights, strict=True))
        assert "10X98765432"[total % 11] == number[17], number


def _strings(value):
    return [s for s in json.dumps(value, ensure_ascii=False).split('"') if s]

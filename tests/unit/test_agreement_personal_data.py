"""The shipped agreements declare every personal field the contracts carry: none travels clear."""

import pytest

from contracts import AGREEMENTS_DIR
from contracts.agreement import load_agreement
from contracts.catalogue import ALL_CONTRACTS, personal_data_paths

SHIPPED = sorted(AGREEMENTS_DIR.glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_person_field_of_every_permitted_event_is_declared_personal(path):
    agreement = load_agreement(path).agreement
    permitted = {flow.type for flow in agreement.flows}
    missing = {
        model.event_type: sorted(
            set(personal_data_paths(model)) - set(agreement.personal_fields(model.event_type))
        )
        for model in ALL_CONTRACTS
        if model.event_type in permitted
    }
    assert {t: m for t, m in missing.items() if m} == {}

"""Every event contract has exactly one handler on a node (CONVENTIONS.md 2)."""

from collections import Counter

from contracts.catalogue import ALL_CONTRACTS
from services.bootstrap import FLOW_HANDLER_TABLES

BUS_HANDLED = {"bus.receipt"}  # the runtime adds the receipt handler itself


def test_every_contract_type_has_exactly_one_handler():
    claims = Counter(t for table in FLOW_HANDLER_TABLES for t in table) + Counter(BUS_HANDLED)
    contract_types = {model.event_type for model in ALL_CONTRACTS}
    assert {t for t in contract_types if claims[t] != 1} == set()
    assert set(claims) == contract_types

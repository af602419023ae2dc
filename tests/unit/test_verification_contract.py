"""Stage 2, admission: the contract is known here, the agreement permits the flow, data is valid."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import errors
from contracts.registry import schema_uri
from services.bus.compose import Addressing, compose, encryption_key
from services.bus.envelope import GENESIS
from services.bus.personal_data import seal_fields
from tests.support.envelopes import PERSONAL_FIELDS, Exchange, resign, seed_dispute, with_data
from tests.support.trust import NOW, flow


@pytest.fixture(scope="module")
def exchange() -> Exchange:
    return Exchange()


def _one_way(exchange: Exchange, versions: list[int] | None = None) -> Exchange:
    """The same bureaus under an agreement letting dispute.reported go Dalang -> Qianfeng only."""
    one_way = flow("dispute.reported", [exchange.dalang, exchange.qianfeng], versions=versions)
    one_way |= {"senders": [exchange.dalang.id], "recipients": [exchange.qianfeng.id]}
    return Exchange(dalang=exchange.dalang, qianfeng=exchange.qianfeng, flows=[one_way])


def test_event_type_this_node_has_no_contract_for_is_refused(exchange: Exchange) -> None:
    raw = resign(
        exchange.envelope(),
        exchange.dalang.sig,
        type="dispute.vanished",
        dataschema=schema_uri("dispute.vanished", (1, 0)),
    )
    with pytest.raises(errors.UnknownEventType):
        exchange.verify(raw)


def test_unknown_major_version_is_refused_with_the_known_ones_named(exchange: Exchange) -> None:
    raw = resign(
        exchange.envelope(),
        exchange.dalang.sig,
        dataschema=schema_uri("dispute.reported", (2, 0)),
    )
    with pytest.raises(errors.UnknownContractVersion, match="major version 2"):
        exchange.verify(raw)


def test_higher_minor_of_a_known_major_is_read_and_its_new_fields_ignored(
    exchange: Exchange,
) -> None:
    envelope = exchange.envelope()

    def add_fields(data: dict[str, object]) -> None:
        data["witnesses"] = 3
        data["parties"][0]["nickname"] = "黄叔"  # type: ignore[index]

    raw = resign(
        envelope,
        exchange.dalang.sig,
        dataschema=schema_uri("dispute.reported", (1, 7)),
        data=with_data(envelope, add_fields),
    )
    verified = exchange.verify(raw)
    assert verified.event.model_dump()["dispute_id"] == "DL-2022-0001"
    assert "witnesses" not in verified.event.model_dump()
    assert "nickname" not in verified.event.model_dump()["parties"][0]


def test_sender_refuses_what_the_agreement_does_not_permit(exchange: Exchange) -> None:
    one_way = _one_way(exchange)
    to_dalang = Addressing(
        recipient=exchange.dalang.id, subject="DL-2022-0001", seq=1, prev=GENESIS
    )
    with pytest.raises(errors.NotPermittedByAgreement, match="from guangan-qianfeng"):
        compose(one_way.loaded.agreement, exchange.qianfeng.signer, seed_dispute(), to_dalang, NOW)


def test_sender_refuses_a_major_version_the_agreement_does_not_accept(exchange: Exchange) -> None:
    v2_only = _one_way(exchange, versions=[2])
    to = Addressing(recipient=exchange.qianfeng.id, subject="DL-2022-0001", seq=1, prev=GENESIS)
    with pytest.raises(errors.NotPermittedByAgreement, match=r"dispute\.reported 1\.0"):
        compose(v2_only.loaded.agreement, exchange.dalang.signer, seed_dispute(), to, NOW)


def test_sender_refuses_to_seal_to_a_recipient_with_no_encryption_key_valid_then(
    exchange: Exchange,
) -> None:
    to = Addressing(recipient=exchange.qianfeng.id, subject="DL-2022-0001", seq=1, prev=GENESIS)
    after_the_keys = datetime(2031, 1, 1, tzinfo=UTC)  # tests.support.trust.VALID_UNTIL
    agreement = exchange.loaded.agreement
    with pytest.raises(errors.UnknownKey, match="guangan-qianfeng has no encryption key"):
        compose(agreement, exchange.dalang.signer, seed_dispute(), to, after_the_keys)
    with pytest.raises(errors.UnknownKey, match="guangan-qianfeng has no encryption key"):
        encryption_key(agreement, exchange.qianfeng.id, after_the_keys)
    assert encryption_key(agreement, exchange.qianfeng.id, NOW).use == "enc"


def test_receiver_refuses_a_flow_in_the_direction_the_agreement_does_not_permit(
    exchange: Exchange,
) -> None:
    one_way = _one_way(exchange)
    backwards = resign(
        exchange.envelope(),
        exchange.qianfeng.sig,
        source=exchange.qianfeng.id,
        kid=exchange.qianfeng.sig_kid,
        recipient=exchange.dalang.id,
    )
    with pytest.raises(errors.NotPermittedByAgreement, match="from guangan-qianfeng"):
        one_way.verifier(me=exchange.dalang).verify(backwards, NOW)


def test_receiver_refuses_a_major_version_the_agreement_does_not_accept(
    exchange: Exchange,
) -> None:
    v2_only = _one_way(exchange, versions=[2])
    with pytest.raises(errors.NotPermittedByAgreement, match=r"dispute\.reported 1\.x"):
        v2_only.verify(exchange.envelope().wire_bytes())


@pytest.mark.parametrize(
    "change",
    [
        lambda data: data.update(risk="extreme"),
        lambda data: data.pop("narrative"),
        lambda data: data.update(parties=[]),
        lambda data: data.update(occurred_on="2022-02-30"),
    ],
    ids=["unknown-risk", "missing-narrative", "no-parties", "no-such-day"],
)
def test_data_that_breaks_the_contract_is_a_schema_violation(
    exchange: Exchange, change: Callable[[dict[str, Any]], object]
) -> None:
    envelope = exchange.envelope()
    raw = resign(envelope, exchange.dalang.sig, data=with_data(envelope, change))
    with pytest.raises(errors.SchemaViolation):
        exchange.verify(raw)


def test_schema_is_checked_on_the_opened_personal_data(exchange: Exchange) -> None:
    envelope = exchange.envelope()
    plain = seed_dispute().model_dump(mode="json", exclude_none=True)
    plain["parties"][0]["id_number"] = "5116031968031200"  # 16 characters, not 18
    to_qianfeng = exchange.qianfeng.enc.public_key()
    sealed, pdepk = seal_fields(plain, PERSONAL_FIELDS, envelope.id, to_qianfeng)
    raw = resign(envelope, exchange.dalang.sig, data=sealed, pdepk=pdepk)
    with pytest.raises(errors.SchemaViolation, match="id_number"):
        exchange.verify(raw)

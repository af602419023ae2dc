"""`fengqiao log verify`'s audit of a store whose exchange log was altered after the fact."""

from sqlalchemy import select

from contracts.agreement import AgreementBook
from contracts.canonical import canonical_bytes
from contracts.events.disputes import DisputeReportedV1
from services.bus.audit import audit_store
from services.bus.envelope import Envelope, parse_document
from services.bus.outbox import Outgoing, enqueue
from services.store.database import Database
from services.store.tables import outbox
from tests.support.trust import NOW, Bureau, agreement_document, flow, sign_document

DALANG, QIANFENG = Bureau("dongguan-dalang"), Bureau("guangan-qianfeng")


def _book() -> AgreementBook:
    document = agreement_document(
        [DALANG, QIANFENG],
        [flow("dispute.reported", [DALANG, QIANFENG])],
        {"dispute.reported": ["parties[].id_number"]},
    )
    return AgreementBook([sign_document(document, [DALANG, QIANFENG])])


def _dispute(n: int) -> DisputeReportedV1:
    return DisputeReportedV1(
        dispute_id=f"DL-{n:05d}",
        reported_in=DALANG.id,
        category="wages_labour",
        risk="low",
        source="walk_in",
        place="Dalang wool-knitting market",
        parties=[{"name": "Lao Huang", "home_jurisdiction": QIANFENG.id}],
        narrative="Unpaid wages.",
        occurred_on="2026-03-02",
    )


async def _send_three(store: Database, book: AgreementBook) -> Envelope:
    """Three disputes sent to Qianfeng, in one transaction; the last one's envelope."""
    agreement = book.in_force("test-agreement", NOW.date()).agreement
    async with store.transaction() as conn:
        for n in range(3):
            outgoing = Outgoing(_dispute(n), QIANFENG.id, f"DL-{n:05d}")
            last = await enqueue(conn, agreement, DALANG.signer, outgoing, NOW)
    return last


async def test_the_last_envelope_sent_altered_in_the_store_is_found(store: Database) -> None:
    """No later envelope's `prev` covers the last one sent: its signature must."""
    book = _book()
    await _send_three(store, book)
    async with store.transaction() as conn:
        last = (await conn.execute(select(outbox).where(outbox.c.seq == 3))).one()
        document = parse_document(last.envelope)
        document["data"] = document["data"] | {"place": "somewhere else"}
        altered = outbox.update().where(outbox.c.seq == 3)
        await conn.execute(altered.values(envelope=canonical_bytes(document)))

    async with store.snapshot() as conn:
        [sent] = await audit_store(conn, book)

    assert (sent.direction, sent.partner, sent.envelopes) == ("sent", QIANFENG.id, 3)
    assert sent.problems == [
        f"seq 3 ({last.event_id}): signature does not verify with {document['kid']}",
        f"the stream is recorded up to seq 3, head {last.chain_hash[:16]}…; "
        f"its log ends at seq 3, head {sent.head[:16]}…",
    ]


async def test_the_last_envelopes_sent_deleted_from_the_store_are_found(store: Database) -> None:
    """The stream's own record (its last seq and head) says how far the log must reach."""
    book = _book()
    last = await _send_three(store, book)
    async with store.transaction() as conn:
        await conn.execute(outbox.delete().where(outbox.c.seq == 3))

    async with store.snapshot() as conn:
        [sent] = await audit_store(conn, book)

    assert sent.envelopes == 2
    assert sent.problems == [
        f"the stream is recorded up to seq 3, head {last.chain_hash()[:16]}…; "
        f"its log ends at seq 2, head {sent.head[:16]}…"
    ]

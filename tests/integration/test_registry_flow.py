"""Registry proxy requests between two real stores (SQLite, PostgreSQL), envelopes handed over
directly from one node's outbox to the other's inbox, as the relay and JetStream would."""

from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from contracts.agreement import AgreementBook
from contracts.catalogue import default_registry
from contracts.events.common import PERSONAL_FIELDS, FileDigest, Person
from contracts.events.registry import (
    PromisedMaterial,
    RegistryCompletedV1,
    RegistryMaterialsSuppliedV1,
)
from services.bus.handlers import dispatcher
from services.bus.inbox import Inbox, Outcome, Receipt
from services.bus.outbox import mark_published, pending
from services.bus.verification import Verifier
from services.node import Node
from services.registry import commands as c
from services.registry.handlers import HANDLERS
from services.registry.materials import MaterialStore
from services.registry.model import (
    IllegalStep,
    MaterialsOutstanding,
    MissingMaterials,
    State,
    WrongParty,
)
from services.registry.queries import (
    OverdueKind,
    ProxyRequestView,
    get_request,
    list_requests,
    overdue,
)
from services.store.database import Database
from services.store.tables import inbox, outbox, quarantine
from tests.support.databases import drop_postgres, open_store
from tests.support.trust import NOW, Bureau, agreement_document, flow, sign_document

DALANG, QIANFENG = Bureau("dongguan-dalang"), Bureau("guangan-qianfeng")
LONGGANG = Bureau("shenzhen-longgang")
REGISTRY_TYPES = sorted(HANDLERS)
# Synthetic: region 511602 (Qianfeng), born 1990-03-07, sequence 123, ISO 7064 check digit.
ID_NUMBER = "511602199003071232"
PHONE = "13800138000"
ADDRESS = "广兴镇 Guangxing town, Qianfeng district"
APPLICANT = Person(
    name="Lao Huang",
    home_jurisdiction=QIANFENG.id,
    id_number=ID_NUMBER,
    phone=PHONE,
    address=ADDRESS,
)
CLERK = Person(name="Window clerk Li", home_jurisdiction=DALANG.id)
REGISTRAR = Person(name="Registrar Chen", home_jurisdiction=QIANFENG.id)
SCANS = {
    "id_card": b"scan: current identity card",
    "household_register": b"scan: household register booklet",
    "photo_receipt": b"scan: digital photo receipt",
    "purpose_statement": b"scan: statement of the purpose",
}


class Clock:
    """The one clock both nodes read, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, days: int) -> None:
        self.now += timedelta(days=days)


@dataclass
class Window:
    """One bureau's node as these tests drive it: commands on `node`, envelopes into `inbox`."""

    node: Node
    inbox: Inbox
    materials: MaterialStore

    async def view(self, request_id: str) -> ProxyRequestView | None:
        async with self.node.db.transaction() as conn:
            return await get_request(conn, request_id)


def _book(parties: list[Bureau]) -> AgreementBook:
    personal = {
        "registry.proxy_requested": [f"applicant.{f}" for f in PERSONAL_FIELDS],
        "registry.material_uploaded": ["chunk"],
    }
    flows = [flow(t, parties, handling="H2") for t in REGISTRY_TYPES]
    return AgreementBook([sign_document(agreement_document(parties, flows, personal), parties)])


def _window(bureau: Bureau, db: Database, clock: Clock, data_dir: Path, book: AgreementBook):
    verifier = Verifier(bureau.id, book, default_registry(), {bureau.enc_kid: bureau.enc})
    return Window(
        Node(bureau.id, book, bureau.signer, db, clock),
        Inbox(db, verifier, dispatcher(HANDLERS), clock),
        MaterialStore.in_data_dir(data_dir),
    )


@asynccontextmanager
async def _windows(store: Database, tmp_path: Path, bureaus: list[Bureau]):
    """One window per bureau, each with its own store on `store`'s backend, one clock."""
    backend = "sqlite" if store.is_sqlite else "postgresql"
    book, clock = _book(bureaus), Clock(NOW)
    dbs, urls = [store], []
    try:
        for bureau in bureaus[1:]:
            (tmp_path / bureau.id).mkdir()
            db, url = await open_store(backend, tmp_path / bureau.id)
            dbs.append(db)
            urls.append(url)
        pairs = zip(bureaus, dbs, strict=True)
        yield [_window(b, db, clock, tmp_path / b.id, book) for b, db in pairs], clock
    finally:
        for db in dbs[1:]:
            await db.close()
        for url in urls if backend == "postgresql" else []:
            await drop_postgres(url)


@pytest.fixture
async def pair(store: Database, tmp_path: Path):
    """Dalang's window and Qianfeng's registry."""
    async with _windows(store, tmp_path, [DALANG, QIANFENG]) as (windows, clock):
        yield (*windows, clock)


@pytest.fixture
async def trio(store: Database, tmp_path: Path):
    """Dalang's and Longgang's windows, and Qianfeng's registry, under one agreement."""
    async with _windows(store, tmp_path, [DALANG, QIANFENG, LONGGANG]) as (windows, clock):
        yield (*windows, clock)


async def deliver(sender: Window, receiver: Window) -> list[Receipt]:
    """Hand the sender's pending envelopes for the receiver to the receiver's inbox."""
    async with sender.node.db.transaction() as conn:
        rows = [r for r in await pending(conn, 100) if r.recipient == receiver.node.jurisdiction]
        await mark_published(conn, rows, sender.node.clock())
    return [await receiver.inbox.receive(r.envelope) for r in rows]


async def exchange(sender: Window, receiver: Window, request_id: str) -> ProxyRequestView:
    """Deliver, check all was applied and both nodes agree; the request as both now see it."""
    receipts = await deliver(sender, receiver)
    assert receipts and {r.outcome for r in receipts} == {Outcome.APPLIED}
    ours, theirs = await sender.view(request_id), await receiver.view(request_id)
    assert ours is not None and ours == theirs
    return ours


def _files(*materials: str) -> list[c.MaterialFile]:
    return [c.MaterialFile(material=m, content=SCANS[m]) for m in materials]


def _filing(service: str = "id_card_renewal", **changes) -> c.FileProxyRequest:
    values = {
        "service_code": service,
        "applicant": APPLICANT,
        "window_name": "Xiangtou hometown policing station",
        "responsible_clerk": CLERK,
        "files": _files("id_card", "household_register", "photo_receipt"),
    }
    return c.FileProxyRequest(**(values | changes))


async def test_full_request_filed_accepted_asked_supplied_completed_converges_on_both_nodes(pair):
    dalang, qianfeng, _ = pair
    filed = await c.file_request(dalang.node, _filing(), dalang.materials)
    rid = filed.request_id
    assert (await exchange(dalang, qianfeng, rid)).summary.state is State.REQUESTED

    await c.accept_request(qianfeng.node, c.AcceptRequest(request_id=rid, handling_clerk=REGISTRAR))
    accepted = await exchange(qianfeng, dalang, rid)
    assert (accepted.summary.state, accepted.summary.due_on) == (State.ACCEPTED, date(2026, 7, 19))

    ask = c.RequestMaterials(
        request_id=rid, materials=["household_register"], reason="Page 2 is unreadable."
    )
    await c.request_materials(qianfeng.node, ask)
    asked = await exchange(qianfeng, dalang, rid)
    assert asked.summary.state is State.MATERIALS_REQUESTED
    assert [(o.name, o.basis, o.settled_event_id) for o in asked.owed] == [
        ("household_register", "requested", None)
    ]

    rescan = c.MaterialFile(material="household_register", content=b"scan: register, page 2")
    supplied = await c.supply_materials(
        dalang.node, c.SupplyMaterials(request_id=rid, files=[rescan]), dalang.materials
    )
    assert (await exchange(dalang, qianfeng, rid)).summary.state is State.ACCEPTED

    done = c.CompleteRequest(
        request_id=rid, result_reference="QF-ID-2026-0815", delivery="post", tracking_number="EMS1"
    )
    await c.complete_request(qianfeng.node, done)
    final = await exchange(qianfeng, dalang, rid)

    assert final.summary.state is State.COMPLETED
    assert (final.result_reference, final.result_delivery) == ("QF-ID-2026-0815", "post")
    assert [e.type for e in final.timeline] == [
        "registry.proxy_requested",
        "registry.accepted",
        "registry.materials_requested",
        "registry.materials_supplied",
        "registry.completed",
    ]
    d, q = DALANG.id, QIANFENG.id
    assert [e.source for e in final.timeline] == [d, q, q, d, q]
    assert final.owed[0].settled_event_id == supplied.event_id
    assert len(final.files) == 4 and all(dalang.materials.has(f.sha256) for f in final.files)
    assert (final.first_event_id, final.handling) == (filed.event_id, "H2")


async def test_every_step_threads_on_the_first_event_and_the_previous_one(pair):
    dalang, qianfeng, _ = pair
    filed = await c.file_request(dalang.node, _filing(), dalang.materials)
    await exchange(dalang, qianfeng, filed.request_id)
    accept = c.AcceptRequest(request_id=filed.request_id, handling_clerk=REGISTRAR)
    accepted = await c.accept_request(qianfeng.node, accept)
    async with qianfeng.node.db.transaction() as conn:
        row = (
            await conn.execute(
                select(outbox.c.subject, outbox.c.correlation, outbox.c.envelope).where(
                    outbox.c.event_id == accepted.event_id
                )
            )
        ).one()
    assert (row.subject, row.correlation) == (filed.request_id, filed.event_id)
    assert f'"causation":"{filed.event_id}"'.encode() in row.envelope


async def test_rejected_request_ends_rejected_on_both_nodes_with_the_reason(pair):
    dalang, qianfeng, _ = pair
    filed = await c.file_request(dalang.node, _filing(), dalang.materials)
    await exchange(dalang, qianfeng, filed.request_id)
    reason = "The identity card was renewed in March; no renewal is due."
    rejected = await c.reject_request(
        qianfeng.node, c.RejectRequest(request_id=filed.request_id, reason=reason)
    )
    view = await exchange(qianfeng, dalang, filed.request_id)
    assert rejected.state is view.summary.state is State.REJECTED
    assert (view.rejection_reason, view.rejected_on) == (reason, date(2026, 5, 20))
    with pytest.raises(IllegalStep, match="is rejected"):
        await c.accept_request(
            qianfeng.node, c.AcceptRequest(request_id=filed.request_id, handling_clerk=REGISTRAR)
        )


async def test_request_with_a_promised_material_is_completed_only_once_it_arrives(pair):
    dalang, qianfeng, clock = pair
    promise = PromisedMaterial(name="photo_receipt", promised_on="2026-05-27")
    filing = _filing(files=_files("id_card", "household_register"), promised=[promise])
    filed = await c.file_request(dalang.node, filing, dalang.materials)
    rid = filed.request_id
    await exchange(dalang, qianfeng, rid)
    await c.accept_request(qianfeng.node, c.AcceptRequest(request_id=rid, handling_clerk=REGISTRAR))
    view = await exchange(qianfeng, dalang, rid)
    assert [(o.name, o.basis, o.due_on) for o in view.owed] == [
        ("photo_receipt", "promised", date(2026, 5, 27))
    ]

    done = c.CompleteRequest(request_id=rid, result_reference="QF-ID-9", delivery="window_pickup")
    with pytest.raises(MaterialsOutstanding, match="photo_receipt"):
        await c.complete_request(qianfeng.node, done)
    assert await deliver(qianfeng, dalang) == []

    clock.advance(days=3)
    supply = c.SupplyMaterials(request_id=rid, files=_files("photo_receipt"))
    await c.supply_materials(dalang.node, supply, dalang.materials)
    settled = await exchange(dalang, qianfeng, rid)
    assert settled.summary.state is State.ACCEPTED
    assert settled.owed[0].settled_on == date(2026, 5, 23)

    await c.complete_request(qianfeng.node, done)
    assert (await exchange(qianfeng, dalang, rid)).summary.state is State.COMPLETED


async def test_request_missing_a_required_material_not_promised_is_refused_and_nothing_sent(pair):
    dalang, _, _ = pair
    filing = _filing(files=_files("id_card", "household_register"))
    with pytest.raises(MissingMaterials, match="photo_receipt"):
        await c.file_request(dalang.node, filing, dalang.materials)
    async with dalang.node.db.transaction() as conn:
        assert await pending(conn, 10) == []


async def test_the_requesting_window_cannot_answer_its_own_request(pair):
    dalang, _, _ = pair
    filed = await c.file_request(dalang.node, _filing(), dalang.materials)
    accept = c.AcceptRequest(request_id=filed.request_id, handling_clerk=CLERK)
    with pytest.raises(WrongParty):
        await c.accept_request(dalang.node, accept)
    async with dalang.node.db.transaction() as conn:
        assert [r.type for r in await pending(conn, 10)] == ["registry.proxy_requested"]


async def test_requests_are_listed_by_state_most_recently_changed_first_on_both_nodes(pair):
    dalang, qianfeng, clock = pair
    first = await c.file_request(dalang.node, _filing(), dalang.materials)
    clock.advance(days=1)
    second = await c.file_request(dalang.node, _filing(), dalang.materials)
    await exchange(dalang, qianfeng, second.request_id)
    clock.advance(days=1)
    accept = c.AcceptRequest(request_id=first.request_id, handling_clerk=REGISTRAR)
    await c.accept_request(qianfeng.node, accept)
    await exchange(qianfeng, dalang, first.request_id)
    for window in (dalang, qianfeng):
        async with window.node.db.transaction() as conn:
            everything = await list_requests(conn)
            waiting = await list_requests(conn, State.REQUESTED)
        assert [r.request_id for r in everything] == [first.request_id, second.request_id]
        assert [(r.request_id, r.applicant_name) for r in waiting] == [
            (second.request_id, "Lao Huang")
        ]


async def test_a_step_the_request_does_not_allow_is_quarantined_by_the_partner(pair):
    dalang, qianfeng, _ = pair
    filed = await c.file_request(dalang.node, _filing(), dalang.materials)
    await exchange(dalang, qianfeng, filed.request_id)
    # Qianfeng's node is bypassed: it completes a request it never accepted.
    early = RegistryCompletedV1(
        request_id=filed.request_id,
        result_reference="QF-0",
        delivery="post",
        completed_on="2026-05-20",
    )
    async with qianfeng.node.unit_of_work() as conn:
        await qianfeng.node.send(conn, early, DALANG.id, subject=filed.request_id)
    [receipt] = await deliver(qianfeng, dalang)
    assert (receipt.outcome, receipt.reason) == (Outcome.QUARANTINED, "registry_illegal_step")
    view = await dalang.view(filed.request_id)
    assert view is not None and view.summary.state is State.REQUESTED
    async with dalang.node.db.transaction() as conn:
        assert (await conn.execute(select(quarantine.c.reason))).scalar_one() == (
            "registry_illegal_step"
        )


async def test_identity_number_is_sealed_in_the_outbox_yet_on_file_at_the_home_registry(pair):
    dalang, qianfeng, _ = pair
    filed = await c.file_request(dalang.node, _filing(), dalang.materials)
    async with dalang.node.db.transaction() as conn:
        [wire] = (await conn.execute(select(outbox.c.envelope))).scalars().all()
    for personal in (ID_NUMBER, PHONE, ADDRESS):
        assert personal.encode() not in wire
        assert personal.encode("unicode_escape") not in wire
    assert b'"id_number":"pd1:' in wire and b"Lao Huang" in wire

    await exchange(dalang, qianfeng, filed.request_id)
    at_home = await qianfeng.view(filed.request_id)
    assert at_home is not None and at_home.applicant == APPLICANT
    async with qianfeng.node.db.transaction() as conn:
        [received] = (await conn.execute(select(inbox.c.envelope))).scalars().all()
    assert ID_NUMBER.encode() not in received


async def test_overdue_lists_services_and_materials_past_their_day_on_both_nodes(pair):
    dalang, qianfeng, clock = pair
    promise = PromisedMaterial(name="purpose_statement", promised_on="2026-05-22")
    certificate = await c.file_request(
        dalang.node,
        _filing("household_certificate", files=_files("id_card"), promised=[promise]),
        dalang.materials,
    )
    renewal = await c.file_request(dalang.node, _filing(), dalang.materials)
    await exchange(dalang, qianfeng, renewal.request_id)
    for filed in (certificate, renewal):
        accept = c.AcceptRequest(request_id=filed.request_id, handling_clerk=REGISTRAR)
        await c.accept_request(qianfeng.node, accept)
    ask = c.RequestMaterials(
        request_id=renewal.request_id,
        materials=["photo_receipt"],
        reason="The photo does not meet the standard.",
        due_on=date(2026, 5, 25),
    )
    await c.request_materials(qianfeng.node, ask)
    await exchange(qianfeng, dalang, renewal.request_id)

    async def lists(on: date) -> list[tuple[str, OverdueKind, str, int]]:
        found = []
        for window in (dalang, qianfeng):
            async with window.node.db.transaction() as conn:
                found.append(
                    [(o.request_id, o.kind, o.what, o.days_late) for o in await overdue(conn, on)]
                )
        assert found[0] == found[1]
        return found[0]

    assert await lists(date(2026, 5, 22)) == []
    assert await lists(date(2026, 5, 23)) == [
        (certificate.request_id, OverdueKind.PROMISED_MATERIAL, "purpose_statement", 1)
    ]
    assert await lists(date(2026, 5, 26)) == [
        (certificate.request_id, OverdueKind.PROMISED_MATERIAL, "purpose_statement", 4),
        (certificate.request_id, OverdueKind.SERVICE, "household_certificate", 3),
        (renewal.request_id, OverdueKind.REQUESTED_MATERIAL, "photo_receipt", 1),
    ]

    clock.advance(days=6)
    supply = c.SupplyMaterials(request_id=certificate.request_id, files=_files("purpose_statement"))
    await c.supply_materials(dalang.node, supply, dalang.materials)
    await exchange(dalang, qianfeng, certificate.request_id)
    done = c.CompleteRequest(
        request_id=certificate.request_id, result_reference="QF-HC-7", delivery="electronic"
    )
    await c.complete_request(qianfeng.node, done)
    await exchange(qianfeng, dalang, certificate.request_id)
    assert await lists(date(2026, 5, 26)) == [
        (renewal.request_id, OverdueKind.REQUESTED_MATERIAL, "photo_receipt", 1)
    ]


async def test_a_third_bureau_learns_nothing_of_a_request_and_cannot_step_into_it(trio):
    dalang, qianfeng, longgang, _ = trio
    ours = await c.file_request(dalang.node, _filing(), dalang.materials)
    applicant = APPLICANT.model_copy(update={"name": "Lao Cheng", "id_number": None})
    theirs = await c.file_request(longgang.node, _filing(applicant=applicant), longgang.materials)
    await exchange(dalang, qianfeng, ours.request_id)
    await exchange(longgang, qianfeng, theirs.request_id)
    for filed in (ours, theirs):
        accept = c.AcceptRequest(request_id=filed.request_id, handling_clerk=REGISTRAR)
        await c.accept_request(qianfeng.node, accept)
    assert len(await deliver(qianfeng, dalang)) == 1
    assert await longgang.view(ours.request_id) is None
    before = await qianfeng.view(ours.request_id)

    # Longgang, a party to the agreement but not to this request, tries to supply materials.
    forged = RegistryMaterialsSuppliedV1(
        request_id=ours.request_id,
        materials=[FileDigest(name="photo_receipt", sha256="0" * 64, size_bytes=1)],
    )
    async with longgang.node.unit_of_work() as conn:
        await longgang.node.send(conn, forged, QIANFENG.id, subject=ours.request_id)
    receipts = await deliver(longgang, qianfeng)
    assert [(r.outcome, r.reason) for r in receipts] == [
        (Outcome.QUARANTINED, "registry_wrong_party")
    ]
    assert await qianfeng.view(ours.request_id) == before


async def cross(one: Window, other: Window, request_id: str):
    """Both sides acted before hearing from each other: deliver both ways, then both views."""
    receipts = await deliver(one, other) + await deliver(other, one)
    assert receipts and {r.outcome for r in receipts} == {Outcome.APPLIED}
    views = await one.view(request_id), await other.view(request_id)
    assert None not in views
    return views


def _facts(view: ProxyRequestView) -> ProxyRequestView:
    """What both nodes must agree on: all but the event each applied last (its next causation)."""
    return replace(view, last_event_id="")


async def test_a_supply_crossing_a_request_for_the_same_material_leaves_both_nodes_agreeing(pair):
    dalang, qianfeng, clock = pair
    promise = PromisedMaterial(name="photo_receipt", promised_on="2026-05-27")
    filing = _filing(files=_files("id_card", "household_register"), promised=[promise])
    rid = (await c.file_request(dalang.node, filing, dalang.materials)).request_id
    await exchange(dalang, qianfeng, rid)
    await c.accept_request(qianfeng.node, c.AcceptRequest(request_id=rid, handling_clerk=REGISTRAR))
    await exchange(qianfeng, dalang, rid)

    # The registry asks for the promised photo while the window is already sending it.
    ask = c.RequestMaterials(request_id=rid, materials=["photo_receipt"], reason="It is late.")
    asked = await c.request_materials(qianfeng.node, ask)
    clock.advance(days=1)  # the supply is newer, yet Dalang applies it before the request
    sent = c.SupplyMaterials(request_id=rid, files=_files("photo_receipt"))
    crossing = await c.supply_materials(dalang.node, sent, dalang.materials)
    at_dalang, at_qianfeng = await cross(dalang, qianfeng, rid)

    assert _facts(at_dalang) == _facts(at_qianfeng)
    assert at_dalang.summary.state is State.MATERIALS_REQUESTED
    owed = {(o.basis, o.since_event_id): o.settled_event_id for o in at_dalang.owed}
    assert owed == {
        ("promised", at_dalang.first_event_id): crossing.event_id,
        ("requested", asked.event_id): None,
    }

    answer = c.SupplyMaterials(request_id=rid, files=_files("photo_receipt"))
    answered = await c.supply_materials(dalang.node, answer, dalang.materials)
    final = await exchange(dalang, qianfeng, rid)
    assert answered.state is final.summary.state is State.ACCEPTED
    assert {o.settled_event_id for o in final.owed if o.basis == "requested"} == {answered.event_id}


async def test_a_supply_crossing_a_rejection_is_recorded_on_both_nodes(pair):
    dalang, qianfeng, _ = pair
    rid = (await c.file_request(dalang.node, _filing(), dalang.materials)).request_id
    await exchange(dalang, qianfeng, rid)
    reject = c.RejectRequest(request_id=rid, reason="Not registered in Qianfeng.")
    await c.reject_request(qianfeng.node, reject)
    extra = c.SupplyMaterials(request_id=rid, files=_files("purpose_statement"))
    await c.supply_materials(dalang.node, extra, dalang.materials)
    at_dalang, at_qianfeng = await cross(dalang, qianfeng, rid)

    assert _facts(at_dalang) == _facts(at_qianfeng)
    assert at_dalang.summary.state is State.REJECTED and len(at_dalang.files) == 4
    with pytest.raises(IllegalStep, match="is rejected"):
        await c.supply_materials(dalang.node, extra, dalang.materials)

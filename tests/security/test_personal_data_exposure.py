"""Personal data never leaves a node in clear: two live nodes in two NATS regions exchange a
registry proxy request, its acceptance and a reported dispute full of identity numbers, phones
and addresses, while a raw subscriber on every server records every message's bytes and every
log is captured at DEBUG. None of it shows up anywhere but in the partner's store, in clear."""

import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
import yaml
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

import contracts
from contracts.events.common import Person
from services.disputes.commands import ReportDispute, report_dispute
from services.disputes.queries import get_dispute_case
from services.registry.commands import (
    AcceptRequest,
    FileProxyRequest,
    MaterialFile,
    accept_request,
    file_request,
)
from services.registry.materials import MaterialStore
from services.registry.queries import ProxyRequestView, get_request
from services.runtime import NodeRuntime
from services.store.database import Database
from tests.support.ids import identity_number
from tests.support.live import (
    declare_outbound_streams,
    delivered,
    node_settings,
    wait_until,
    write_agreement,
)
from tests.support.nats import NatsServer, TwoRegions, connect, running, two_regions
from tests.support.trust import Bureau

DALANG, QIANFENG = Bureau("dongguan-dalang"), Bureau("guangan-qianfeng")
SHIPPED = Path(contracts.__file__).parent / "agreements" / "dalang-qianfeng.yaml"
TAPPED = (">", "$JS.>", "deliver.>")  # `>` may not reach `$`-subjects: tap those by name too


def person(name: str, home: str, region: str, born: date, n: int) -> Person:
    """A resident with a synthetic identity number and a phone and address unique to the test."""
    return Person(
        name=name,
        home_jurisdiction=home,
        id_number=identity_number(region, born, n),
        phone=f"1390000{n:04d}",
        address=f"广兴镇{n}号 No. {n} Guangxing town road",
    )


LAO_HUANG = person("Lao Huang", QIANFENG.id, "511602", date(1968, 3, 12), 11)
LAO_CHENG = person("Lao Cheng", QIANFENG.id, "511602", date(1971, 8, 30), 12)
APPLICANT = person("Lao Wang", QIANFENG.id, "511602", date(1990, 3, 7), 13)
CLERK = person("Window clerk Li", DALANG.id, "441900", date(1985, 5, 1), 14)
REGISTRAR = person("Registrar Chen", QIANFENG.id, "511602", date(1979, 11, 2), 15)
PEOPLE = (LAO_HUANG, LAO_CHENG, APPLICANT, CLERK, REGISTRAR)
SCANS = {"id_card": b"scan: card", "household_register": b"scan: book", "photo_receipt": b"scan"}


def secrets_of(people: tuple[Person, ...]) -> list[str]:
    return [v for p in people for v in (p.id_number, p.phone, p.address) if v is not None]


def forms(secret: str) -> list[bytes]:
    """The bytes a secret shows as: UTF-8, and JSON-escaped as a log line might print it."""
    escaped = json.dumps(secret)[1:-1].encode()
    return sorted({secret.encode("utf-8"), escaped})


def leaks(secrets: list[str], haystacks: list[bytes]) -> list[str]:
    """Each secret found in one of the haystacks, with where."""
    return [
        f"{secret!r} in {hay[:200]!r}"
        for secret in secrets
        for hay in haystacks
        if any(form in hay for form in forms(secret))
    ]


@dataclass
class Wiretap:
    """A raw NATS client on one server that records every message's subject, headers and body."""

    server: NatsServer
    client: NatsClient
    seen: list[bytes] = field(default_factory=list)

    async def record(self, msg: Msg) -> None:
        headers = json.dumps(msg.headers or {}, ensure_ascii=False).encode()
        self.seen.append(b"\n".join([msg.subject.encode(), headers, msg.data]))


@pytest.fixture
def regions(tmp_path: Path) -> Iterator[TwoRegions]:
    found = two_regions(tmp_path, hub="qianfeng", leaf="dalang")
    with running(*found.servers):
        yield found


@pytest.fixture
async def wiretaps(regions: TwoRegions) -> AsyncIterator[list[Wiretap]]:
    taps = [Wiretap(server, await connect(server)) for server in regions.servers]
    for tap in taps:
        for subject in TAPPED:
            await tap.client.subscribe(subject, cb=tap.record)
        await tap.client.flush()
    yield taps
    for tap in taps:
        await tap.client.drain()


@pytest.fixture
async def nodes(
    regions: TwoRegions, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[tuple[NodeRuntime, NodeRuntime]]:
    """Dalang (leaf region) and Qianfeng (hub region) under the shipped agreement's flows and
    personal-data lists, every log captured at DEBUG from before they start."""
    caplog.set_level(logging.DEBUG)
    shipped = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    agreement = write_agreement(
        [DALANG, QIANFENG],
        tmp_path / "agreement.yaml",
        flows=shipped["flows"],
        personal=shipped["personal_data"],
    )
    settings = [
        node_settings(
            DALANG, tmp_path, regions.leaf.url, "dalang", {QIANFENG.id: "qianfeng"}, agreement
        ),
        node_settings(
            QIANFENG, tmp_path, regions.hub.url, "qianfeng", {DALANG.id: "dalang"}, agreement
        ),
    ]
    await declare_outbound_streams(*settings)
    runtimes = [NodeRuntime(s) for s in settings]
    try:
        for runtime in runtimes:
            await runtime.start()
        yield runtimes[0], runtimes[1]
    finally:
        for runtime in runtimes:
            await runtime.stop()


async def _file_and_report(dalang: NodeRuntime) -> str:
    filed = await file_request(
        dalang.node,
        FileProxyRequest(
            service_code="id_card_renewal",
            applicant=APPLICANT,
            window_name="Xiangtou hometown policing station",
            responsible_clerk=CLERK,
            files=[MaterialFile(material=m, content=c) for m, c in SCANS.items()],
        ),
        MaterialStore.in_data_dir(dalang.settings.data_dir),
    )
    await report_dispute(
        dalang.node,
        ReportDispute(
            dispute_id="DL-2026-0042",
            category="land",
            risk="medium",
            source="walk_in",
            place="Dalang wool-knitting workshop",
            parties=[LAO_HUANG, LAO_CHENG],
            narrative="A quarrel over land at home became a fight at work.",
            occurred_on="2026-03-02",
        ),
    )
    return filed.request_id


async def _view(runtime: NodeRuntime, request_id: str) -> ProxyRequestView | None:
    async with runtime.node.db.transaction() as conn:
        return await get_request(conn, request_id)


async def _exchange(dalang: NodeRuntime, qianfeng: NodeRuntime) -> str:
    """File, report, accept; return once both sides applied everything and receipted it."""
    request_id = await _file_and_report(dalang)

    async def arrived() -> bool:
        case = await get_dispute_case(qianfeng.node.db, "DL-2026-0042")
        return case is not None and await _view(qianfeng, request_id) is not None

    await wait_until(arrived, 30, "the request and the dispute applied at Qianfeng")
    await accept_request(
        qianfeng.node, AcceptRequest(request_id=request_id, handling_clerk=REGISTRAR)
    )

    async def answered() -> bool:
        view = await _view(dalang, request_id)
        return view is not None and view.summary.state == "accepted"

    async def receipted() -> bool:
        return await delivered(dalang) >= 2 and await delivered(qianfeng) >= 1

    await wait_until(answered, 30, "the acceptance applied back at Dalang")
    await wait_until(receipted, 30, "every event receipted")
    return request_id


def _server_files(regions: TwoRegions) -> list[bytes]:
    """What an operator of either server holds: its log and its JetStream store files."""
    files = [s.log for s in regions.servers]
    files += [p for s in regions.servers for p in (s.workdir / "store").rglob("*") if p.is_file()]
    return [content for content in map(_read_if_still_there, files) if content is not None]


def _read_if_still_there(path: Path) -> bytes | None:
    """A live server renames its temporary files between the listing and the read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _log_lines_of(records: list[logging.LogRecord]) -> list[bytes]:
    return [f"{r.name} {r.getMessage()} {r.exc_text or ''}".encode() for r in records]


async def test_personal_data_is_sealed_on_every_wire_and_masked_in_every_log(
    regions: TwoRegions,
    wiretaps: list[Wiretap],
    nodes: tuple[NodeRuntime, NodeRuntime],
    caplog: pytest.LogCaptureFixture,
) -> None:
    dalang, qianfeng = nodes
    request_id = await _exchange(dalang, qianfeng)
    for tap in wiretaps:
        await tap.client.flush()
    wire = [m for tap in wiretaps for m in tap.seen]
    secrets = secrets_of(PEOPLE)

    # The taps heard the events themselves, sealed, on both servers.
    for tap in wiretaps:
        heard = b"\n".join(tap.seen)
        assert b"registry.proxy_requested" in heard and b"dispute.reported" in heard
        assert b"registry.accepted" in heard and b"bus.receipt" in heard
        assert b"pd1:" in heard
    assert caplog.records, "nothing was logged: the capture is not working"
    assert leaks(secrets, wire) == []
    leaking = {r.name for r in caplog.records if leaks(secrets, _log_lines_of([r]))}
    assert leaking == set(), f"loggers printing personal data: {sorted(leaking)}"
    assert leaks(secrets, [caplog.text.encode()]) == []
    assert leaks(secrets, _server_files(regions)) == []

    # ...and yet each partner's store has them in clear.
    case = await get_dispute_case(qianfeng.node.db, "DL-2026-0042")
    assert case is not None and case.parties == [LAO_HUANG, LAO_CHENG]
    at_home = await _view(qianfeng, request_id)
    assert at_home is not None and at_home.applicant == APPLICANT


def test_forms_a_leak_would_take_are_all_looked_for() -> None:
    address = LAO_HUANG.address or ""
    assert leaks([address], [json.dumps({"a": address}).encode()]) != []
    assert leaks([address], [address.encode("utf-8")]) != []
    assert leaks([address], [b"pd1:AAAA"]) == []


async def test_a_failed_statement_names_no_stored_value_in_its_error_or_the_driver_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("aiosqlite").setLevel(logging.DEBUG)  # even when an operator asks for it
    secret = APPLICANT.id_number or ""
    db = Database.open(f"sqlite:///{tmp_path / 'node.db'}")
    try:
        async with db.transaction() as conn:
            await conn.execute(text("CREATE TABLE people (id_number TEXT PRIMARY KEY)"))
            insert = text("INSERT INTO people VALUES (:n)")
            await conn.execute(insert, {"n": secret})
            with pytest.raises(IntegrityError) as failed:
                await conn.execute(insert, {"n": secret})
    finally:
        logging.getLogger("aiosqlite").setLevel(logging.NOTSET)
        await db.close()
    assert "INSERT INTO people" in str(failed.value)
    assert secret not in str(failed.value)
    assert any("execute(…)" in r.getMessage() for r in caplog.records if r.name == "aiosqlite")
    assert leaks([secret], [caplog.text.encode()]) == []

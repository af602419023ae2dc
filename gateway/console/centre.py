"""Command centre's pages: the exchange's health per partner, and the semiannual report's export."""

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from gateway.console.pages import DOMAIN_ERRORS, refused, render
from gateway.console.session import PREFIX, ExchangeWatcher, ReportExporter
from gateway.metrics import StoreSnapshot, snapshot
from gateway.node_api import node_api
from gateway.routes import reports as reports_api
from services.registry.model import registry_day
from services.reports.export import ExportFormat
from services.reports.period import Period
from services.store.database import Database
from services.store.tables import inbound_streams, outbound_streams

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@dataclass(frozen=True)
class PartnerHealth:
    """One partner's line: what waits to leave, what it has receipted, what came from it."""

    partner: str
    outbox_pending: int
    unreceipted: int
    lag_s: float
    sent_seq: int
    receipted_seq: int
    applied_from: int
    applied_seq: int
    receipted_to: int


@router.get("/exchange")
async def exchange(request: Request, staff: ExchangeWatcher) -> HTMLResponse:
    """Per partner: outbox depth, unreceipted events and delivery lag, stream positions and
    receipts both ways; quarantine by reason. The same counts as /metrics."""
    node = node_api(request).node
    shot = await snapshot(node.db, node.clock())
    lines = await _by_partner(node.db, shot)
    day = registry_day(node.clock())
    return render(
        request,
        "exchange.html",
        staff,
        lines=lines,
        quarantine=shot.quarantine_held,
        quarantine_total=sum(shot.quarantine_held.values()),
        period=f"{day.year}-H{1 if day.month <= 6 else 2}",
        formats=list(ExportFormat),
    )


@router.get("/reports/export")
async def export(
    request: Request, staff: ReportExporter, period: str, format: str = "pdf"
) -> Response:
    """This node's own figures for the half year as a download, as GET /reports/export."""
    try:
        chosen = ExportFormat(format)
        Period.parse(period)
        return await reports_api.export(staff.user, node_api(request), period, chosen)
    except DOMAIN_ERRORS as exc:
        return refused(request, staff, exc)


async def _by_partner(db: Database, shot: StoreSnapshot) -> list[PartnerHealth]:
    """The snapshot's counts and the stream positions, one line per partner."""
    o, i = outbound_streams.c, inbound_streams.c
    async with db.snapshot() as conn:
        sent = {
            r: (a, b)
            for r, a, b in await conn.execute(select(o.recipient, o.last_seq, o.delivered_seq))
        }
        taken = {
            s: (a, b)
            for s, a, b in await conn.execute(select(i.sender, i.applied_seq, i.receipted_seq))
        }
    partners = sorted(set(shot.outbox_pending) | set(shot.inbox_applied) | set(sent) | set(taken))
    return [
        PartnerHealth(
            partner=p,
            outbox_pending=shot.outbox_pending.get(p, 0),
            unreceipted=shot.outbox_unreceipted.get(p, 0),
            lag_s=shot.oldest_unreceipted_age_s.get(p, 0.0),
            sent_seq=sent.get(p, (0, 0))[0],
            receipted_seq=sent.get(p, (0, 0))[1],
            applied_from=shot.inbox_applied.get(p, 0),
            applied_seq=taken.get(p, (0, 0))[0],
            receipted_to=taken.get(p, (0, 0))[1],
        )
        for p in partners
    ]

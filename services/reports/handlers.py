"""Applying report events, on the node that sent them and on the node that receives them."""

from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.base import EventData
from contracts.events.reports import ReportCosignedV1, ReportProposedV1, figures_digest
from services.bus.handlers import Handler, NotApplicable
from services.bus.verification import VerifiedEvent
from services.reports.model import COSIGNED, PROPOSED, check_cosign, check_proposal
from services.reports.records import advance, find_report, get_report, keep_figures
from services.reports.tables import report_signatures, reports

E = TypeVar("E", bound=EventData)


def _expect(verified: VerifiedEvent, kind: type[E]) -> E:
    if not isinstance(verified.event, kind):
        raise NotApplicable(f"{verified.envelope.type} is not a {kind.event_type}")
    return verified.event


async def _proposed(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    event, envelope = _expect(verified, ReportProposedV1), verified.envelope
    state = check_proposal(await find_report(conn, event.report_id), event, envelope.source)
    await conn.execute(
        reports.insert().values(
            report_id=event.report_id,
            agreement_id=event.agreement_id,
            period=event.period,
            proposed_by=event.proposed_by,
            partner=envelope.recipient,
            state=state.value,
            figures_digest=figures_digest(event.figures),
            correlation=envelope.correlation,
            last_event_id=envelope.id,
            proposed_at=envelope.sent_at,
            updated_at=envelope.sent_at,
        )
    )
    await keep_figures(conn, event.report_id, event.proposed_by, event.figures, envelope.sent_at)


async def _cosigned(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    event, envelope = _expect(verified, ReportCosignedV1), verified.envelope
    report = await get_report(conn, event.report_id)
    state = check_cosign(report, event, envelope.source)
    await conn.execute(
        report_signatures.insert().values(
            report_id=event.report_id,
            signed_by=event.signed_by,
            figures_digest=event.figures_digest,
            differences_acknowledged=[
                d.model_dump(mode="json") for d in event.differences_acknowledged
            ],
            event_id=envelope.id,
            signed_at=envelope.time,
        )
    )
    await advance(conn, event.report_id, state, envelope.id, envelope.sent_at)


HANDLERS: dict[str, Handler] = {PROPOSED: _proposed, COSIGNED: _cosigned}
"""One handler per report event type."""

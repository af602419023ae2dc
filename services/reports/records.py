"""Reading and writing report rows inside a unit of work (commands and handlers share it)."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.reports import ReportFigures, figures_digest
from services.reports.model import Report, ReportState, UnknownReport
from services.reports.tables import report_figures, reports


async def find_report(conn: AsyncConnection, report_id: str) -> Report | None:
    """The report, its row locked until the transaction ends; None when unknown here."""
    row = (
        await conn.execute(
            select(reports).where(reports.c.report_id == report_id).with_for_update()
        )
    ).one_or_none()
    if row is None:
        return None
    return Report(
        report_id=row.report_id,
        agreement_id=row.agreement_id,
        period=row.period,
        proposed_by=row.proposed_by,
        partner=row.partner,
        state=ReportState(row.state),
        figures_digest=row.figures_digest,
        correlation=row.correlation,
        last_event_id=row.last_event_id,
    )


async def get_report(conn: AsyncConnection, report_id: str) -> Report:
    """The report, locked; UnknownReport when this node does not hold it."""
    report = await find_report(conn, report_id)
    if report is None:
        raise UnknownReport(f"report {report_id} is not known here")
    return report


async def advance(
    conn: AsyncConnection, report_id: str, state: ReportState, event_id: str, at: datetime
) -> None:
    """The report took a step: its new state and the event the next step follows."""
    await conn.execute(
        update(reports)
        .where(reports.c.report_id == report_id)
        .values(state=state.value, last_event_id=event_id, updated_at=at)
    )


async def keep_figures(
    conn: AsyncConnection, report_id: str, counted_by: str, figures: ReportFigures, at: datetime
) -> None:
    """Store one side's figures for the report (a recount replaces the earlier one)."""
    values = {
        "report_id": report_id,
        "counted_by": counted_by,
        "figures": figures.model_dump(mode="json"),
        "figures_digest": figures_digest(figures),
        "counted_at": at,
    }
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(report_figures).values(values)
    keys = [report_figures.c.report_id, report_figures.c.counted_by]
    changed = {k: insert.excluded[k] for k in ("figures", "figures_digest", "counted_at")}
    await conn.execute(insert.on_conflict_do_update(index_elements=keys, set_=changed))


async def figures_counted_by(
    conn: AsyncConnection, report_id: str, counted_by: str
) -> ReportFigures | None:
    """The figures `counted_by` counted for the report, if stored here."""
    t = report_figures.c
    found = (
        await conn.execute(
            select(t.figures).where(t.report_id == report_id, t.counted_by == counted_by)
        )
    ).scalar_one_or_none()
    return None if found is None else ReportFigures.model_validate(found)

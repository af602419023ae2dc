"""The dispute figures counted by the store: GROUP BY queries, not one record per dispute.

Which disputes a report counts is decided by their holders (a JSON list), which the queries
group by as text and the caller filters here, with the same rule as for records.

A pair's report counts a dispute from the moment it reached the partner: when it was reported,
or, for a dispute the owner shared with the partner later, when it was shared (the partner's row
is the share's). The owner counts those few from its record of the shares, one by one.
"""

import json
from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import UTC, date
from typing import Any

from sqlalchemy import Date, Text, cast, func, literal_column, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from services.disputes.tables import dispute_shares, disputes
from services.reports.figures import DisputeRecord, DisputeTally, is_resolved
from services.reports.period import Period, cst_day

_HOLDERS = cast(disputes.c.holders, Text)
_RECORD = [
    disputes.c[name]
    for name in (
        "dispute_id",
        "category",
        "risk",
        "level",
        "reported_at",
        "outcome",
        "resolved_on",
        "compensation_fen",
        "closed_on",
    )
]
"""The columns of a dispute's record."""


def shared(holders: Collection[str], me: str, partners: Collection[str]) -> bool:
    """This node holds the dispute together with one of `partners`."""
    return me in holders and bool(set(holders) & set(partners))


def _cst_date(conn: AsyncConnection, moment: Any) -> ColumnElement[Any]:
    """The CST day of a stored instant, in SQL (SQLite keeps instants as UTC text)."""
    if conn.dialect.name == "sqlite":
        return func.date(moment, "+8 hours")
    return cast(func.timezone("UTC", moment) + literal_column("interval '8 hours'"), Date)


def _reported_in(period: Period) -> ColumnElement[bool]:
    # Bound in UTC: SQLite compares the text it keeps, which is UTC.
    at = disputes.c.reported_at
    return (at >= period.start.astimezone(UTC)) & (at < period.end.astimezone(UTC))


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


async def shared_later(conn: AsyncConnection, partners: Collection[str]) -> dict[str, date]:
    """The disputes this node shared with one of `partners` after reporting them to others
    only, by the CST day the first of `partners` was sent one: when they reached them."""
    s = dispute_shares.c
    rows = await conn.execute(
        select(s.dispute_id, s.partner, s.shared_at, disputes.c.holders)
        .join(disputes, disputes.c.dispute_id == s.dispute_id)
        .where(s.dispute_id.in_(select(s.dispute_id).where(s.partner.in_(list(partners)))))
    )
    shares: dict[str, dict[str, Any]] = {}
    holders: dict[str, set[str]] = {}
    for dispute_id, partner, shared_at, held_by in rows:
        shares.setdefault(dispute_id, {})[partner] = shared_at
        holders[dispute_id] = set(held_by)
    return {
        dispute_id: cst_day(min(at for p, at in by_partner.items() if p in partners))
        for dispute_id, by_partner in shares.items()
        if not (holders[dispute_id] - set(by_partner)) & set(partners)  # none held it before
    }


def _reached(record: DisputeRecord, later: Mapping[str, date]) -> DisputeRecord:
    """The record as a partner holds it: reported when it reached them."""
    day = later.get(record.dispute_id)
    return record if day is None else replace(record, reported_on=day)


async def tally_held_disputes(
    conn: AsyncConnection,
    me: str,
    partners: Collection[str],
    period: Period,
    later: Mapping[str, date],
) -> DisputeTally:
    """The tally of the disputes reported in `period` that this node holds with a partner
    (`later`: those shared with one after, by `shared_later`)."""
    d, tally = disputes.c, DisputeTally()
    counted: ColumnElement[bool] = true()
    if later:  # counted one by one, from when they reached the partner
        for row in await conn.execute(select(*_RECORD).where(d.dispute_id.in_(list(later)))):
            tally.add_record(_reached(dispute_record(row), later), period)
        counted = d.dispute_id.not_in(list(later))
    reported = await conn.execute(
        select(_HOLDERS, d.category, d.level, d.risk, func.count())
        .where(_reported_in(period), counted)
        .group_by(_HOLDERS, d.category, d.level, d.risk)
    )
    for holders, category, level, risk, count in reported:
        if shared(json.loads(holders), me, partners):
            tally.add_reported(category, level, risk, count)
    day = _cst_date(conn, d.reported_at)
    last = period.last_day.isoformat()
    resolved = await conn.execute(
        select(
            _HOLDERS,
            d.outcome,
            day,
            d.resolved_on,
            func.count(),
            func.sum(func.coalesce(d.compensation_fen, 0)),
        )
        .where(
            _reported_in(period),
            counted,
            d.outcome.is_not(None),
            d.outcome != "",
            d.resolved_on <= last,
        )
        .group_by(_HOLDERS, d.outcome, day, d.resolved_on)
    )
    for holders, outcome, reported_on, resolved_on, count, compensation in resolved:
        ended = date.fromisoformat(resolved_on)
        if shared(json.loads(holders), me, partners) and is_resolved(outcome, ended, period):
            days = (ended - _day(reported_on)).days
            tally.add_resolved(outcome, days, int(compensation), count)
    return tally


async def disputes_open_at_end(
    conn: AsyncConnection,
    me: str,
    partners: Collection[str],
    period: Period,
    later: Mapping[str, date],
) -> list[DisputeRecord]:
    """The disputes held with a partner, reported by the period's end and not ended by then
    (`later`: those shared with one after, by `shared_later`)."""
    d, last = disputes.c, period.last_day.isoformat()
    rows = await conn.stream(
        select(*_RECORD, _HOLDERS)
        .where(
            d.reported_at < period.end.astimezone(UTC),
            or_(d.resolved_on.is_(None), d.resolved_on > last),
            or_(d.closed_on.is_(None), d.closed_on > last),
        )
        .execution_options(yield_per=1000)
    )
    return [
        _reached(dispute_record(r), later)
        async for r in rows
        if shared(json.loads(r[-1]), me, partners)
    ]


def dispute_record(row: Any) -> DisputeRecord:
    """A dispute row (with at least the record's columns) as the record the figures count."""
    return DisputeRecord(
        dispute_id=row.dispute_id,
        category=row.category,
        risk=row.risk,
        level=row.level,
        reported_on=cst_day(row.reported_at),
        outcome=row.outcome,
        resolved_on=_day(row.resolved_on) if row.resolved_on else None,
        compensation_fen=row.compensation_fen,
        closed_on=_day(row.closed_on) if row.closed_on else None,
    )

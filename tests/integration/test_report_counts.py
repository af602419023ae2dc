"""The store counts the dispute figures with GROUP BY queries; they are the figures the pure
rules give over every record, CST day boundaries and disputes held with no partner included."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from services.disputes.tables import disputes
from services.mediation.tables import mediations
from services.reports.counting import COUNTING_STEPS, count_figures
from services.reports.dispute_counts import dispute_record
from services.reports.figures import DisputeRecord, OwnRecords, dispute_figures, open_items
from services.reports.period import Period
from services.store.database import Database

ME, PARTNER, OTHER = "dongguan-dalang", "guangan-qianfeng", "chengdu-jinjiang"
H1 = Period.parse("2026-H1")


def _dispute(n: int, reported_utc: str, **changes: Any) -> dict[str, Any]:
    reported_at = datetime.fromisoformat(reported_utc).replace(tzinfo=UTC)
    row = {
        "dispute_id": f"DL-{n:04d}",
        "originator": ME,
        "state": "open",
        "category": ("wages_labour", "land", "neighbour")[n % 3],
        "risk": ("low", "medium", "high")[n % 2],
        "level": 1 + n % 4,
        "lead_source": "walk_in",
        "place": "Dalang",
        "parties": [],
        "party_jurisdictions": [PARTNER],
        "holders": [ME, PARTNER],
        "narrative": "Wages unpaid.",
        "occurred_on": "2026-03-02",
        "handling": "H1",
        "correlation": f"c-{n}",
        "last_event_id": f"e-{n}",
        "reported_at": reported_at,
        "updated_at": reported_at,
    }
    ended = {"outcome": None, "resolved_on": None, "compensation_fen": None, "closed_on": None}
    return row | ended | changes


def _ended(outcome: str, resolved_on: str, compensation_fen: int | None) -> dict[str, Any]:
    return {"outcome": outcome, "resolved_on": resolved_on, "compensation_fen": compensation_fen}


MEDIATED = "mediated_agreement"
ROWS = [
    # 2025-12-31T16:30Z is Jan 1 in CST: in H1. 2026-06-30T16:30Z is Jul 1 in CST: not.
    _dispute(1, "2025-12-31T16:30", **_ended("withdrawn", "2026-01-03", None)),
    _dispute(2, "2025-12-31T15:59"),
    _dispute(3, "2026-06-30T16:30"),
    _dispute(4, "2026-06-30T15:30", **_ended(MEDIATED, "2026-07-01", 5)),
    _dispute(5, "2026-03-01T20:00", **_ended(MEDIATED, "2026-03-09", 98_000)),
    _dispute(6, "2026-03-01T02:00", **_ended("settled_by_parties", "2026-03-02", 0)),
    _dispute(7, "2026-04-01T02:00", **_ended("", "2026-04-02", 7)),
    _dispute(8, "2026-04-01T02:00", holders=[ME, OTHER]),
    _dispute(9, "2026-04-02T02:00", holders=[PARTNER]),
    _dispute(10, "2026-05-02T02:00", closed_on="2026-05-03"),
    _dispute(11, "2026-05-02T02:00", **_ended(MEDIATED, "2026-05-30", 1)),
    _dispute(12, "2026-01-05T02:00", closed_on="2026-08-01"),
]  # fmt: skip


async def _every_record(store: Database) -> list[DisputeRecord]:
    """Every dispute held with the partner, read whole: what the pure rules count from."""
    async with store.transaction() as conn:
        rows = (await conn.execute(select(disputes))).all()
    return [dispute_record(r) for r in rows if ME in r.holders and PARTNER in r.holders]


async def test_dispute_figures_counted_by_the_store_equal_those_of_every_record(store: Database):
    async with store.transaction() as conn:
        await conn.execute(disputes.insert(), ROWS)
        figures = await count_figures(conn, ME, [PARTNER], H1)
    records = await _every_record(store)

    assert figures.disputes == dispute_figures(records, H1)
    assert figures.open_items == open_items(OwnRecords(records, [], [], []), H1)
    assert (figures.disputes.reported, figures.disputes.resolved) == (8, 4)
    assert figures.disputes.median_days_to_resolution == 4.5  # CST days 1, 2, 7 and 28
    assert figures.disputes.by_outcome == {
        "mediated_agreement": 2,
        "settled_by_parties": 1,
        "withdrawn": 1,
    }
    assert figures.disputes.compensation_total_fen == 98_001
    assert [i.case_id for i in figures.open_items] == ["DL-0002", "DL-0004", "DL-0012"]


async def test_counting_tells_each_step_as_it_is_done_for_a_progress_bar(store: Database):
    told: list[str] = []
    async with store.transaction() as conn:
        await conn.execute(disputes.insert(), ROWS)
        quiet = await count_figures(conn, ME, [PARTNER], H1)
        shown = await count_figures(conn, ME, [PARTNER], H1, on_step=told.append)

    assert told == list(COUNTING_STEPS)
    assert shown == quiet


def _mediation(
    mediation_id: str, requested_utc: str, state: str, updated_utc: str
) -> dict[str, Any]:
    return {
        "mediation_id": mediation_id,
        "dispute_id": "DL-0001",
        "state": state,
        "requested_by": ME,
        "partner": PARTNER,
        "dispute_owner": ME,
        "mediator": {"name": "Police assistant Wu", "home_jurisdiction": ME},
        "parties": [],
        "category": "land",
        "risk": "high",
        "summary": "Fellow villagers fell out.",
        "requested_part": "Talk to the family at home.",
        "handling": "H2",
        "correlation": f"c-{mediation_id}",
        "last_event_id": f"e-{mediation_id}",
        "requested_at": datetime.fromisoformat(requested_utc).replace(tzinfo=UTC),
        "updated_at": datetime.fromisoformat(updated_utc).replace(tzinfo=UTC),
    }


async def test_a_mediation_declined_after_the_period_is_carried_over_open(store: Database):
    """Open at the period's end is open then, whatever became of it after: a mediation
    declined in July was still waiting for its answer on June 30, as one closed in July was."""
    rows = [
        # Declined on Jul 1 in CST (16:30 UTC on Jun 30): open at the end of H1.
        _mediation("MD-1", "2026-06-10T02:00", "declined", "2026-06-30T16:30"),
        # Declined on Jun 30 in CST: not open at the end of H1.
        _mediation("MD-2", "2026-06-10T02:00", "declined", "2026-06-30T15:30"),
        _mediation("MD-3", "2026-06-10T02:00", "requested", "2026-06-10T02:00"),
    ]
    async with store.transaction() as conn:
        await conn.execute(mediations.insert(), rows)
        figures = await count_figures(conn, ME, [PARTNER], H1)

    assert [i.case_id for i in figures.open_items if i.kind == "mediation"] == ["MD-1", "MD-3"]

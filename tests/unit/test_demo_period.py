"""The demo reports on the half year its day falls in (days of China Standard Time)."""

from datetime import date

import pytest

from gateway.demo.report import half_year
from services.reports.period import Period


@pytest.mark.parametrize(
    ("day", "period"),
    [
        (date(2026, 1, 1), "2026-H1"),
        (date(2026, 6, 30), "2026-H1"),
        (date(2026, 7, 1), "2026-H2"),
        (date(2026, 12, 31), "2026-H2"),
    ],
)
def test_a_day_falls_in_its_half_year(day, period):
    assert half_year(day) == period
    assert Period.parse(period).holds(day)

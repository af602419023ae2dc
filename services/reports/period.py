"""Half-year periods in China Standard Time, as the registry counts its days."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from services.calendar import CHINA_STANDARD_TIME
from services.registry.model import registry_day

_PERIOD = re.compile(r"^([0-9]{4})-H([12])$")


class UnknownPeriod(ValueError):
    """Not a half year of the form 2026-H1 or 2026-H2."""


@dataclass(frozen=True)
class Period:
    """A half year: H1 is Jan 1 to Jun 30, H2 Jul 1 to Dec 31 (days in CST)."""

    name: str
    first_day: date
    last_day: date

    @classmethod
    def parse(cls, name: str) -> "Period":
        """The period called `name` ("2026-H1"); UnknownPeriod otherwise."""
        found = _PERIOD.match(name)
        if found is None:
            raise UnknownPeriod(f"{name!r} is not a half year such as 2026-H1 or 2026-H2")
        year, half = int(found.group(1)), int(found.group(2))
        # The store is searched between the period's bounds in UTC: the first instant of 0001
        # (midnight CST) is in year 0, and a day after the end of 9999 in year 10000.
        if not 2 <= year <= 9998:
            raise UnknownPeriod(f"{name!r} is outside the years 0002 to 9998")
        if half == 1:
            return cls(name, date(year, 1, 1), date(year, 6, 30))
        return cls(name, date(year, 7, 1), date(year, 12, 31))

    def holds(self, day: date | None) -> bool:
        """Whether `day` falls in the period."""
        return day is not None and self.first_day <= day <= self.last_day

    @property
    def start(self) -> datetime:
        """The first instant of the period (midnight CST of its first day)."""
        return datetime.combine(self.first_day, time(), CHINA_STANDARD_TIME)

    @property
    def end(self) -> datetime:
        """The first instant after the period (midnight CST after its last day)."""
        return datetime.combine(self.last_day + timedelta(days=1), time(), CHINA_STANDARD_TIME)


def cst_day(moment: datetime) -> date:
    """The CST day of a stored instant; a naive one (SQLite) is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return registry_day(moment)

"""The bureaus' calendar: a day is a day of China Standard Time (UTC+8, no DST), whatever the
host's zone; a dispute reported at 00:30 in Dalang is reported that day, not the UTC one before."""

from datetime import date, datetime, timedelta, timezone

CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")


def china_day(moment: datetime) -> date:
    """The day (China Standard Time) of an aware instant."""
    return moment.astimezone(CHINA_STANDARD_TIME).date()

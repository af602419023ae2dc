"""Synthetic resident identity numbers for test data (GB 11643): 6-digit region code, birth
date, 3-digit sequence and an ISO 7064 MOD 11-2 check character. Never real ones."""

from datetime import date

from contracts.events.common import check_character


def identity_number(
    region: str = "511602", born: date = date(1990, 3, 7), sequence: int = 1
) -> str:
    """An 18-character identity number for `region` (Qianfeng: 511602), `born`, `sequence`."""
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + check_character(body)

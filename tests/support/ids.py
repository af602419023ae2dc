"""Synthetic resident identity numbers for test data (GB 11643): 6-digit region code, birth
date, 3-digit sequence and an ISO 7064 MOD 11-2 check character. Never real ones."""

from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"  # the check character for each remainder 0..10 of the weighted sum


def check_character(body: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    if len(body) != 17 or not body.isdigit():
        raise ValueError(f"{body!r} is not 17 digits")
    return CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def identity_number(
    region: str = "511602", born: date = date(1990, 3, 7), sequence: int = 1
) -> str:
    """An 18-character identity number for `region` (Qianfeng: 511602), `born`, `sequence`."""
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + check_character(body)


def is_valid(number: str) -> bool:
    """Whether `number` has 18 characters and a right check character."""
    return (
        len(number) == 18 and number[:17].isdigit() and check_character(number[:17]) == number[17]
    )

"""What a check found: its verdict, what it saw, and the fix when something is wrong."""

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    """`fail` stops the node from working; `warn` will soon; `skip` could not be checked."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Finding:
    """One line of the doctor's table."""

    check: str
    verdict: Verdict
    detail: str
    fix: str = ""


def ok(check: str, detail: str) -> Finding:
    """A check that passed."""
    return Finding(check, Verdict.OK, detail)


def warn(check: str, detail: str, fix: str) -> Finding:
    """Works now, will not for long (a key about to expire)."""
    return Finding(check, Verdict.WARN, detail, fix)


def fail(check: str, detail: str, fix: str) -> Finding:
    """Broken: the node will not work until it is fixed."""
    return Finding(check, Verdict.FAIL, detail, fix)


def skipped(check: str, because: str) -> Finding:
    """Not checked, because an earlier check failed or it does not apply."""
    return Finding(check, Verdict.SKIP, because)


def healthy(findings: list[Finding]) -> bool:
    """True when nothing failed (warnings do not stop a node)."""
    return all(f.verdict is not Verdict.FAIL for f in findings)

"""The report exchange's transition table: the partner signs, then the proposer; nothing else."""

import pytest

from contracts.events.reports import ReportCosignedV1
from services.reports.model import (
    COSIGNED,
    PROPOSED,
    DigestMismatch,
    IllegalReportStep,
    Report,
    ReportState,
    SigningOutOfTurn,
    next_state,
)
from services.reports.model import check_cosign as check

S = ReportState
DIGEST = "a" * 64


def _report(state: ReportState) -> Report:
    return Report("R1", "ag", "2026-H1", "dalang", "qianfeng", state, DIGEST, "c", "e")


def _sign(by: str, digest: str = DIGEST) -> ReportCosignedV1:
    return ReportCosignedV1(report_id="R1", figures_digest=digest, signed_by=by)


@pytest.mark.parametrize(
    ("state", "event", "after"),
    [
        (S.NEW, PROPOSED, S.PROPOSED),
        (S.PROPOSED, COSIGNED, S.PARTNER_SIGNED),
        (S.PARTNER_SIGNED, COSIGNED, S.FINAL),
    ],
)
def test_every_allowed_step_leads_to_its_state(state, event, after) -> None:
    assert next_state("R1", state, event) is after


@pytest.mark.parametrize(
    ("state", "event"), [(S.FINAL, COSIGNED), (S.PROPOSED, PROPOSED), (S.NEW, COSIGNED)]
)
def test_steps_outside_the_table_are_refused(state, event) -> None:
    with pytest.raises(IllegalReportStep):
        next_state("R1", state, event)


def test_the_partner_signs_first_and_the_proposer_last() -> None:
    assert check(_report(S.PROPOSED), _sign("qianfeng"), "qianfeng") is S.PARTNER_SIGNED
    with pytest.raises(SigningOutOfTurn):
        check(_report(S.PROPOSED), _sign("dalang"), "dalang")
    assert check(_report(S.PARTNER_SIGNED), _sign("dalang"), "dalang") is S.FINAL


def test_a_signature_over_other_figures_is_refused() -> None:
    with pytest.raises(DigestMismatch):
        check(_report(S.PROPOSED), _sign("qianfeng", "b" * 64), "qianfeng")

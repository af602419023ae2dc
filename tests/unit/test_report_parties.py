"""Which partners a report of a half year counts: those it shared an agreement in force with
during that half year, an agreement that has ended since included."""

from datetime import date

import pytest

from contracts.agreement import AgreementBook, LoadedAgreement
from gateway.routes.reports_export import NoPartnerInForce, report_parties
from services.reports.period import Period
from tests.support.trust import Bureau, agreement_document, flow, sign_document

DALANG, QIANFENG = Bureau("dongguan-dalang"), Bureau("guangan-qianfeng")
LONGGANG, JINJIANG = Bureau("shenzhen-longgang"), Bureau("chengdu-jinjiang")
TODAY = date(2026, 12, 7)


def _agreement(
    partner: Bureau, start: str, end: str, signers: list[Bureau] | None = None
) -> LoadedAgreement:
    parties = [DALANG, partner]
    document = agreement_document(
        parties, [flow("report.proposed", parties)], agreement_id=f"dalang-{partner.id}"
    )
    return sign_document(
        document | {"effective_from": start, "effective_until": end}, signers or parties
    )


BOOK = AgreementBook(
    [
        _agreement(QIANFENG, "2022-01-01", "2026-03-31"),  # ended in 2026-H1
        _agreement(LONGGANG, "2026-08-01", "2030-12-31"),  # from 2026-H2
        _agreement(JINJIANG, "2022-01-01", "2030-12-31", [DALANG]),  # never signed by both
    ]
)


@pytest.mark.parametrize(
    ("period", "today", "partners"),
    [
        ("2026-H1", TODAY, [QIANFENG.id]),
        ("2026-H2", TODAY, [LONGGANG.id]),
        ("2025-H2", TODAY, [QIANFENG.id]),
    ],
)
def test_a_report_counts_the_partners_of_its_period(period: str, today: date, partners: list[str]):
    parties = report_parties(BOOK, DALANG.id, Period.parse(period), today)

    assert parties.partners == partners
    assert set(parties.names) == {DALANG.id, *partners}


@pytest.mark.parametrize(("period", "today"), [("2026-H2", date(2026, 7, 31)), ("2027-H1", TODAY)])
def test_a_period_with_no_agreement_in_force_by_today_is_refused(period: str, today: date):
    with pytest.raises(NoPartnerInForce, match=f"no agreement in force with a partner in {period}"):
        report_parties(BOOK, DALANG.id, Period.parse(period), today)

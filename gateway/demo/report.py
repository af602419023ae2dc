"""The semiannual report over HTTP (半年报): Dalang's command centre proposes its own count,
Qianfeng's counts its own records at the same stream positions, finds no difference, and both
co-sign the same figures digest."""

from collections import Counter
from datetime import date
from typing import Any

from gateway.demo.desk import Case, Desk, Say, StepRefused, act, seen
from gateway.demo.seed import AGREEMENT_ID, DALANG, QIANFENG
from services.users.model import Role

D, Q = f"[{DALANG.short}]", f"[{QIANFENG.short}]"
COMMAND = Role.COMMAND_CENTRE


def half_year(day: date) -> str:
    """The reporting period `day` falls in: `2026-H2`."""
    return f"{day.year}-H{1 if day.month <= 6 else 2}"


async def semiannual_report(dalang: Desk, qianfeng: Desk, period: str, say: Say) -> Case:
    """Propose at Dalang, reconcile and co-sign at Qianfeng, co-sign at Dalang; the final report
    as Dalang holds it, once both nodes show it final."""
    report_id = f"RPT-{period}-{AGREEMENT_ID}"
    path = f"/reports/{report_id}"
    proposal = {"agreement_id": AGREEMENT_ID, "period": period, "report_id": report_id}
    step = await act(dalang, COMMAND, "/reports", proposal)
    say(
        f"{D} The command centre counts its own records for {period} and proposes the "
        f"semiannual report (半年报) {report_id}, figures digest {step['figures_digest'][:16]}…"
    )
    await seen(qianfeng, path, "the proposal at Qianfeng", role=COMMAND)
    differences = await act(qianfeng, COMMAND, f"{path}/reconcile", {})
    if differences:
        raise StepRefused(f"Qianfeng's own count differs from Dalang's: {differences}")
    say(
        f"{Q} The command centre counts Qianfeng's own records up to the same events and "
        "compares them figure by figure: 0 differences. It co-signs."
    )
    await act(qianfeng, COMMAND, f"{path}/cosign", {})
    await seen(dalang, path, "Qianfeng's signature at Dalang", _signed_by(1), role=COMMAND)
    await act(dalang, COMMAND, f"{path}/cosign", {})
    say(f"{D} Dalang co-signs the same figures: the report is final on both nodes.")
    await seen(qianfeng, path, "the final report at Qianfeng", role=COMMAND, final=True)
    return await seen(dalang, path, "the final report at Dalang", role=COMMAND, final=True)


def _signed_by(count: int) -> Any:
    return lambda case: len(case["signatures"]) == count


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.2f} yuan"


def report_summary(report: Case) -> list[str]:
    """The co-signed report in a few plain lines."""
    figures = report["figures"][report["proposed_by"]]
    disputes, mediations = figures["disputes"], figures["mediations"]
    proxies = figures["proxy_requests"]
    statuses: Counter[str] = Counter()
    for by_status in proxies["by_service"].values():
        statuses.update(by_status)
    signed = ", ".join(f"{s['signed_by']} ({s['signed_at'][:19]})" for s in report["signatures"])
    opened = ", ".join(f"{item['kind']} {item['case_id']}" for item in figures["open_items"])
    return [
        f"半年报 Semiannual report {report['report_id']} for {report['period']} "
        f"({'final' if report['final'] else 'NOT final'}, state {report['state']})",
        f"  disputes exchanged: {disputes['reported']} reported, {disputes['resolved']} resolved "
        f"(resolution rate {disputes['resolution_rate_bp'] / 100:.2f} %), "
        f"compensation agreed {_yuan(disputes['compensation_total_fen'])}",
        f"  linked mediations: {mediations['opened']} opened, {mediations['closed']} closed",
        "  registry proxy requests: "
        + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()) if n)
        + f"; travel cost avoided {_yuan(proxies['travel_cost_avoided_fen'])}",
        f"  still open, carried over: {opened or 'none'}",
        f"  figures digest {report['figures_digest']}",
        f"  co-signed by: {signed}",
    ]

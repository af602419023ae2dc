"""Household-registry proxy requests over HTTP (户籍窗口代办): Qianfeng residents apply at
Dalang's Xiangtou window, Qianfeng's registry accepts or rejects, one material is accepted as
missing and supplied later (容缺办理), two services are completed and one is still being handled."""

from collections.abc import Iterable
from datetime import date

from contracts.events.service_catalogue import ServiceCatalogue, load_service_catalogue
from gateway.demo.desk import Case, Check, Desk, Say, act, seen
from gateway.demo.seed import (
    APPLICATIONS,
    DALANG,
    HOME_CLERK,
    QIANFENG,
    WINDOW,
    Application,
    filing,
    scan,
)
from services.users.model import Role

D, Q = f"[{DALANG.short}]", f"[{QIANFENG.short}]"
CLERK = Role.WINDOW_CLERK
TRACKING = "EMS 1180000000001"


def _path(application: Application) -> str:
    return f"/registry/requests/{application.request_id}"


def _in_state(state: str) -> Check:
    return lambda case: bool(case["summary"]["state"] == state)


async def proxy_requests(dalang: Desk, qianfeng: Desk, today: date, say: Say) -> None:
    """File every application at Dalang, answer each at Qianfeng, supply the promised material,
    complete; return once both nodes show every request in its final state of the demo."""
    catalogue = load_service_catalogue()
    await _file(dalang, qianfeng, today, catalogue, say)
    await _answer(dalang, qianfeng, say)
    await _supply_promised(dalang, qianfeng, say)
    await _complete(dalang, qianfeng, say)


async def _file(
    dalang: Desk, qianfeng: Desk, today: date, catalogue: ServiceCatalogue, say: Say
) -> None:
    for application in APPLICATIONS:
        await act(dalang, CLERK, "/registry/requests", filing(application, today))
        service = catalogue.service(application.service)
        promised = [service.material(m) for m in application.promised]
        owed = "; ".join(f"{m.zh} {m.en} promised within 7 days (容缺)" for m in promised if m)
        say(
            f"{D} {WINDOW}: {application.applicant} applies for {service.name.zh} "
            f"{service.name.en} ({application.request_id}), "
            f"{len(application.materials)} materials scanned" + (f"; {owed}" if owed else "")
        )
    await _all_seen(qianfeng, APPLICATIONS, _in_state("requested"), "at Qianfeng's registry")
    say(
        f"{Q} Qianfeng's registry has all {len(APPLICATIONS)} requests; the applicants' identity "
        "numbers, phones and addresses travelled encrypted to Qianfeng's key."
    )


async def _answer(dalang: Desk, qianfeng: Desk, say: Say) -> None:
    for application in APPLICATIONS:
        if application.answer == "reject":
            reason = "A transfer in needs proof of a lawful, stable residence; a rented bed is not."
            await act(qianfeng, CLERK, f"{_path(application)}/reject", {"reason": reason})
            say(f"{Q} Rejects {application.request_id} ({application.applicant}): {reason}")
        else:
            await act(
                qianfeng, CLERK, f"{_path(application)}/accept", {"handling_clerk": HOME_CLERK}
            )
            say(f"{Q} Clerk Wu accepts {application.request_id} ({application.applicant}).")
    for application in APPLICATIONS:
        state = "rejected" if application.answer == "reject" else "accepted"
        await _all_seen(dalang, [application], _in_state(state), "at Dalang's window")


async def _supply_promised(dalang: Desk, qianfeng: Desk, say: Say) -> None:
    for application in APPLICATIONS:
        if not application.promised:
            continue
        files = [scan(material) for material in application.promised]
        body = {"files": files, "note": "brought to the window as promised"}
        await act(dalang, CLERK, f"{_path(application)}/materials", body)
        say(
            f"{D} {application.applicant} brings the promised material to the window; it is "
            f"scanned and sent ({application.request_id}, 容缺办理 settled)."
        )
        await _all_seen(qianfeng, [application], _nothing_owed, "the material at Qianfeng")


def _nothing_owed(case: Case) -> bool:
    return all(owed["settled_event_id"] for owed in case["owed"])


async def _complete(dalang: Desk, qianfeng: Desk, say: Say) -> None:
    done = [a for a in APPLICATIONS if a.answer == "complete"]
    for number, application in enumerate(done, start=1):
        by_post = number == 1
        body = {
            "result_reference": f"QF-{application.request_id}",
            "delivery": "post" if by_post else "window_pickup",
            "tracking_number": TRACKING if by_post else None,
        }
        await act(qianfeng, CLERK, f"{_path(application)}/complete", body)
        how = f"posted to Dalang ({TRACKING})" if by_post else "ready to collect at the window"
        say(f"{Q} Completes {application.request_id} for {application.applicant}: {how}.")
    await _all_seen(dalang, done, _in_state("completed"), "completed at Dalang")
    say(
        f"[both] {len(done)} services completed without a 1,500 km trip home, "
        "1 rejected, 1 still being handled."
    )


async def _all_seen(
    desk: Desk, applications: Iterable[Application], check: Check, what: str
) -> None:
    for application in applications:
        await seen(desk, _path(application), f"{application.request_id} {what}", check, role=CLERK)

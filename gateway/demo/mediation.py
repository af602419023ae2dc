"""The seed case over HTTP (矛盾联调): the Guangxing land quarrel that became a fight in Dalang,
worked jointly by both bureaus until it closes on both nodes. Each step is taken on one node's
API and waited for on the other's, so every step has crossed NATS before the next one."""

from gateway.demo.desk import Case, Desk, Say, StepRefused, act, seen
from gateway.demo.seed import (
    ASSISTANT,
    DALANG,
    DISPUTE_ID,
    FIGHT_FINDINGS,
    FIGHT_TASK,
    GUANGXING_OFFICER,
    LAND_FINDINGS,
    LAND_TASK,
    MEDIATION_ID,
    OUTCOME,
    QIANFENG,
    dispute_report,
)
from services.users.model import Role

D, Q = f"[{DALANG.short}]", f"[{QIANFENG.short}]"
DISPUTE, CASE = f"/disputes/{DISPUTE_ID}", f"/mediations/{MEDIATION_ID}"
MEDIATOR, OFFICER = Role.MEDIATOR, Role.OFFICER


async def linked_mediation(dalang: Desk, qianfeng: Desk, say: Say) -> tuple[Case, Case]:
    """Run the seed case from the report to the closing; the mediation as each node ends it."""
    await _report(dalang, qianfeng, say)
    await _join(dalang, qianfeng, say)
    await _investigate(dalang, qianfeng, say)
    await _agree(dalang, qianfeng, say)
    return await _close(dalang, qianfeng, say)


async def _report(dalang: Desk, qianfeng: Desk, say: Say) -> None:
    await act(dalang, MEDIATOR, "/disputes", dispute_report())
    say(
        f"{D} Police assistant Tang reports dispute {DISPUTE_ID}: 老黄 and 老程, villagers of "
        "Guangxing town (广兴镇, Qianfeng), quarrelled over land at home at Spring Festival and "
        "then fought at work in Xiangtou village (巷头村). Category land, risk high."
    )
    there = await seen(qianfeng, DISPUTE, "the dispute at Qianfeng", role=Role.COMMAND_CENTRE)
    say(
        f"{Q} The dispute arrives, signed by Dalang. The parties' identity numbers travelled "
        "encrypted to Qianfeng's key; its command centre sees them masked "
        f"({there['parties'][0]['id_number']}), and that read is in the access log."
    )


async def _join(dalang: Desk, qianfeng: Desk, say: Say) -> None:
    request = {
        "mediation_id": MEDIATION_ID,
        "dispute_id": DISPUTE_ID,
        "mediator": ASSISTANT,
        "summary": "A fight in Dalang rooted in a land quarrel in Guangxing.",
        "requested_part": "Establish who owns the disputed land.",
    }
    await act(dalang, MEDIATOR, "/mediations", request)
    say(f"{D} Tang starts linked mediation {MEDIATION_ID} and asks Qianfeng to take part.")
    await seen(qianfeng, CASE, "the request at Qianfeng", state="requested")
    await act(qianfeng, OFFICER, f"{CASE}/accept", {"officer": GUANGXING_OFFICER})
    say(
        f"{Q} Officer Li of Guangxing station (广兴派出所) accepts: both bureaus now work the case."
    )
    await seen(dalang, CASE, "the acceptance at Dalang", state="accepted")


async def _investigate(dalang: Desk, qianfeng: Desk, say: Say) -> None:
    for assignee, task in ((DALANG, FIGHT_TASK), (QIANFENG, LAND_TASK)):
        body = {"assignee": assignee.jurisdiction, "description": task}
        await act(dalang, MEDIATOR, f"{CASE}/tasks", body)
    say(
        f"{D} Two tasks, each side in its own jurisdiction: Dalang station investigates the "
        "fight; Guangxing station and the village cadres establish who owns the land."
    )
    await seen(qianfeng, CASE, "both tasks at Qianfeng", lambda c: len(c["tasks"]) == 2)
    await act(
        dalang, OFFICER, f"{CASE}/tasks/{MEDIATION_ID}.T1/findings", {"findings": FIGHT_FINDINGS}
    )
    say(f"{D} Officer Chen reports the fight: {FIGHT_FINDINGS}")
    await act(
        qianfeng, OFFICER, f"{CASE}/tasks/{MEDIATION_ID}.T2/findings", {"findings": LAND_FINDINGS}
    )
    say(f"{Q} Officer Li reports the land: {LAND_FINDINGS}")
    for desk, where in ((dalang, "Dalang"), (qianfeng, "Qianfeng")):
        await seen(desk, CASE, f"both findings at {where}", _all_found)


def _all_found(case: Case) -> bool:
    return len(case["tasks"]) == 2 and all(task["findings"] for task in case["tasks"])


async def _agree(dalang: Desk, qianfeng: Desk, say: Say) -> None:
    await act(dalang, MEDIATOR, f"{CASE}/outcome", {"mediator": ASSISTANT, "outcome": OUTCOME})
    say(
        f"{D} With the facts of both sides Tang proposes the outcome: 老程 returns the land, "
        "and pays 老黄 980 yuan of medical costs."
    )
    proposed = await seen(qianfeng, CASE, "the proposal at Qianfeng", state="proposed")
    digest = proposed["terms_digest"]  # what each signer reads on his own node and quotes
    for desk, name, side in ((dalang, "老程", D), (qianfeng, "老黄", Q)):
        signer = {"name": name, "home_jurisdiction": QIANFENG.jurisdiction}
        body = {"signer": signer, "signer_role": "party", "terms_digest": digest}
        await act(desk, MEDIATOR, f"{CASE}/signatures", body)
        say(f"{side} {name} signs the agreement (terms digest {digest[:16]}…).")
    await seen(dalang, CASE, "both signatures at Dalang", lambda c: len(c["signatures"]) == 2)


async def _close(dalang: Desk, qianfeng: Desk, say: Say) -> tuple[Case, Case]:
    await act(dalang, MEDIATOR, f"{CASE}/close", {"closure": "agreement_signed"})
    say(f"{D} Both signatures are in: the mediation closes and the dispute is resolved.")
    for desk, where in ((dalang, "Dalang"), (qianfeng, "Qianfeng")):
        await seen(desk, DISPUTE, f"the dispute resolved at {where}", state="resolved")
    await act(dalang, MEDIATOR, f"{DISPUTE}/close", {"closure": "resolved"})
    ours = await seen(dalang, CASE, "the mediation closed at Dalang", state="closed")
    theirs = await seen(qianfeng, CASE, "the mediation closed at Qianfeng", state="closed")
    if ours["timeline"] != theirs["timeline"]:
        raise StepRefused("the two nodes hold different timelines of the mediation")
    for desk, where in ((dalang, "Dalang"), (qianfeng, "Qianfeng")):
        await seen(desk, DISPUTE, f"the dispute closed at {where}", state="closed")
    say(
        f"[both] Dispute {DISPUTE_ID} and mediation {MEDIATION_ID} are closed on both nodes, "
        f"with the same {len(ours['timeline'])}-step timeline on each."
    )
    return ours, theirs

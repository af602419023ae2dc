"""The staff console in a real browser (headless Chromium) against two live nodes in two NATS
regions: signing in, a clerk's request crossing to the partner, an officer reporting findings
and a mediator signing an outcome, the command centre downloading the report, the auditor
reading the access log."""

from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from services.users.model import Role
from tests.support.api import ID_NUMBER, QIANFENG, ApiNode
from tests.support.api_cases import LAO_CHENG, dispute_report
from tests.support.browser import ConsoleNode, Scene, shoot
from tests.support.live import wait_until

M = "LM-2026-0001"
ASSISTANT = {"name": "警务助理 唐", "home_jurisdiction": QIANFENG.id}
FINDINGS = "土地归老黄所有。"


async def test_sign_in_keeps_the_token_in_a_strict_httponly_cookie_and_speaks_chinese_first(
    scene: Scene,
) -> None:
    context = await scene.browser.new_context()
    page = await context.new_page()
    await page.goto(f"{scene.dalang.url}/console/")
    assert page.url.endswith("/console/login")
    await expect(page.locator("h1")).to_have_text("登录")
    await shoot(page, "login")

    await page.fill("#token", "not-a-token")
    await page.click("#sign-in")
    await expect(page.locator("[role=alert]")).to_contain_text("令牌无效")

    await page.goto(f"{scene.dalang.url}/console/login?lang=en")
    await expect(page.locator("h1")).to_have_text("Sign in")
    await page.fill("#token", await scene.dalang.user(Role.WINDOW_CLERK, "clerk.li"))
    await page.click("#sign-in")
    await expect(page.locator("h1")).to_have_text("Proxy requests")  # the language remembered
    session = next(c for c in await context.cookies() if c["name"] == "fq_session")
    assert session["httpOnly"] and session["sameSite"] == "Strict"

    await page.click("#logout")
    assert page.url.endswith("/console/login")
    await page.goto(f"{scene.dalang.url}/console/registry")
    assert page.url.endswith("/console/login")
    await context.close()


async def test_clerk_files_a_request_at_dalang_that_arrives_at_qianfeng_and_shows_overdue(
    scene: Scene,
) -> None:
    clerk = await scene.signed_in(scene.dalang, Role.WINDOW_CLERK, "clerk.wang")
    await clerk.goto(f"{scene.dalang.url}/console/registry/new")
    await clerk.select_option("#service_code", "id_card_renewal")
    await clerk.fill("#applicant_name", "老黄")
    await clerk.select_option("#home_jurisdiction", QIANFENG.id)
    await clerk.fill("#id_number", ID_NUMBER)
    await clerk.fill("#phone", "13800138000")
    await clerk.fill("#address", "广兴镇 Guangxing town")
    await clerk.fill("#window_name", "巷头乡情警务站")
    for row, material in enumerate(("id_card", "household_register")):
        await clerk.select_option(f"#material_{row}", material)
        scan = {"name": f"{material}.png", "mimeType": "image/png", "buffer": b"scan " * 40}
        await clerk.set_input_files(f"#file_{row}", scan)
    await clerk.select_option("#promised_0", "photo_receipt")
    tomorrow = scene.clock.now.date() + timedelta(days=1)
    await clerk.fill("#promised_on_0", tomorrow.isoformat())
    await shoot(clerk, "clerk-file-request")
    await clerk.click("#file-request")

    await expect(clerk.locator("#state")).to_have_text("已申请")
    await expect(clerk.locator("#applicant-id")).to_have_text(ID_NUMBER)  # a clerk of a party
    request_id = clerk.url.rsplit("/", 1)[1]
    await expect(clerk.locator("#files li")).to_have_count(2)
    await shoot(clerk, "clerk-request")

    registrar = await scene.signed_in(scene.qianfeng, Role.WINDOW_CLERK, "registrar.chen")
    row = registrar.locator(f"tr[data-request='{request_id}']")

    async def arrived() -> bool:  # filed by a clerk of the other window: among all requests
        await registrar.goto(f"{scene.qianfeng.url}/console/registry")
        return await row.count() == 1

    await wait_until(arrived, 30, "the request listed on Qianfeng's console")
    await row.locator("a").click()
    await expect(registrar.locator("#applicant-id")).to_have_text(ID_NUMBER)  # opened at home

    scene.clock.now += timedelta(days=2)  # the promised photo receipt is now a day late
    await clerk.goto(f"{scene.dalang.url}/console/registry")
    await expect(clerk.locator("[role=status]")).to_contain_text("已自动退出")  # the PC left
    await clerk.context.close()
    clerk = await scene.signed_in(scene.dalang, Role.WINDOW_CLERK, "clerk.wang")
    await clerk.goto(f"{scene.dalang.url}/console/registry")
    late = clerk.locator(f"tr.overdue[data-request='{request_id}']")
    await expect(late).to_contain_text("photo_receipt")
    await shoot(clerk, "clerk-requests")
    await clerk.context.close()
    await registrar.context.close()


async def test_mediator_signs_the_proposed_outcome_and_the_partner_sees_the_signature(
    scene: Scene,
) -> None:
    dispute_id = await _proposed_mediation(scene)
    mediator = await scene.signed_in(scene.dalang, Role.MEDIATOR, "mediator.zhou")
    await mediator.goto(f"{scene.dalang.url}/console/disputes?concerning={QIANFENG.id}")
    await expect(mediator.locator("#disputes")).to_contain_text(dispute_id)
    await shoot(mediator, "mediator-disputes")

    await mediator.goto(f"{scene.dalang.url}/console/mediations/{M}")
    await expect(mediator.locator("#state")).to_have_text("方案待签")
    await expect(mediator.locator(f"[data-side='{QIANFENG.id}']")).to_contain_text("老黄")
    digest = await mediator.locator("#digest").inner_text()
    await mediator.fill("#signer_name", LAO_CHENG.name)
    await mediator.select_option("#signer_home", QIANFENG.id)
    await mediator.select_option("#signer_role", "party")
    await shoot(mediator, "mediator-mediation")
    await mediator.click("#sign-outcome")

    await expect(mediator.locator("#signatures")).to_contain_text(LAO_CHENG.name)
    await expect(mediator.locator("#sign")).to_have_count(0)  # this side has signed

    async def signed_there() -> bool:
        case = await _get(scene.qianfeng.api, Role.MEDIATOR, f"/mediations/{M}")
        return any(s["terms_digest"] == digest for s in case.get("signatures", []))

    await wait_until(signed_there, 30, "Dalang's signature at Qianfeng")
    await mediator.context.close()


async def test_command_centre_sees_the_exchange_and_downloads_the_report(
    scene: Scene, tmp_path: Path
) -> None:
    centre = await scene.signed_in(scene.dalang, Role.COMMAND_CENTRE, "centre.liu")
    await expect(centre.locator("h1")).to_have_text("交换监控")
    await expect(centre.locator(f"tr[data-partner='{QIANFENG.id}']")).to_have_count(1)
    await expect(centre.locator("#quarantine-total")).to_have_text("0")
    await shoot(centre, "centre-exchange")

    await centre.select_option("#format", "pdf")
    async with centre.expect_download() as waiting:
        await centre.click("#download")
    download = await waiting.value
    period = await centre.locator("#period").input_value()
    assert download.suggested_filename == f"fengqiao-dongguan-dalang-{period}.pdf"
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    await centre.context.close()


async def test_auditor_reads_the_access_log_and_verifies_the_exchange_log(scene: Scene) -> None:
    requests = await _get(scene.dalang.api, Role.WINDOW_CLERK, "/registry/requests")
    assert requests, "the clerk's test filed a request first"
    case_id = requests[0]["request_id"]
    await _get(scene.dalang.api, Role.WINDOW_CLERK, f"/registry/requests/{case_id}")

    auditor = await scene.signed_in(scene.dalang, Role.AUDITOR, "auditor.xu")
    await expect(auditor.locator("#access-log")).to_contain_text(case_id)
    await expect(auditor.locator("#access-log")).to_contain_text("applicant.id_number")
    await expect(auditor.locator("#access-log")).not_to_contain_text(ID_NUMBER)
    await shoot(auditor, "auditor-access-log")

    await auditor.goto(f"{scene.dalang.url}/console/audit/verify")
    await expect(auditor.locator("#verdict")).to_have_class("ok")
    await expect(auditor.locator("#streams tr.intact")).to_have_count(2)
    await shoot(auditor, "auditor-verify")
    await auditor.context.close()


async def _get(node: ApiNode, role: Role, path: str) -> Any:
    response = await node.client.get(path, headers=await node.token(role))
    return response.json() if response.status_code == 200 else {}


async def _step(node: ConsoleNode, role: Role, path: str, body: dict[str, Any]) -> None:
    headers = await node.api.token(role)
    response = await node.api.client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text


async def _proposed_mediation(scene: Scene) -> str:
    """The seed case over both nodes' APIs up to the mediator's proposal, seen at Dalang."""
    dalang, qianfeng = scene.dalang, scene.qianfeng
    dispute = dispute_report(dispute_id="DL-2026-0001")
    await _step(dalang, Role.MEDIATOR, "/disputes", dispute)
    await _seen(qianfeng, "/disputes/DL-2026-0001", lambda c: bool(c))
    request = {
        "mediation_id": M,
        "dispute_id": dispute["dispute_id"],
        "mediator": ASSISTANT,
        "summary": "老黄与老程因土地纠纷在大朗打架。",
        "requested_part": "查清土地归属。",
    }
    await _step(dalang, Role.MEDIATOR, "/mediations", request)
    await _seen(qianfeng, f"/mediations/{M}", lambda c: c.get("state") == "requested")
    officer = {"name": "广兴派出所 李警官", "home_jurisdiction": QIANFENG.id}
    await _step(qianfeng, Role.OFFICER, f"/mediations/{M}/accept", {"officer": officer})
    await _seen(dalang, f"/mediations/{M}", lambda c: c.get("state") == "accepted")
    task = {"assignee": QIANFENG.id, "description": "查清土地归属。"}
    await _step(dalang, Role.MEDIATOR, f"/mediations/{M}/tasks", task)
    await _seen(qianfeng, f"/mediations/{M}", lambda c: bool(c.get("tasks")))
    await _report_findings_in_the_browser(scene)
    await _seen(dalang, f"/mediations/{M}", lambda c: c["tasks"][0]["findings"] == FINDINGS)
    outcome = {"terms": ["老程归还土地", "老程支付医药费 980 元"]}
    body = {"mediator": ASSISTANT, "outcome": outcome}
    await _step(dalang, Role.MEDIATOR, f"/mediations/{M}/outcome", body)
    await _seen(qianfeng, f"/mediations/{M}", lambda c: c.get("state") == "proposed")
    return str(dispute["dispute_id"])


async def _report_findings_in_the_browser(scene: Scene) -> None:
    """Qianfeng's officer reports the findings of its task on the mediation's page."""
    officer = await scene.signed_in(scene.qianfeng, Role.OFFICER, "officer.li")
    await _seen(scene.qianfeng, f"/mediations/{M}", lambda c: bool(c.get("tasks")))
    await officer.goto(f"{scene.qianfeng.url}/console/mediations/{M}")
    form = officer.locator(f"form[data-task='{M}.T1']")
    await form.locator("textarea").fill(FINDINGS)
    await shoot(officer, "officer-findings")
    await form.locator("button").click()
    await expect(officer.locator(f"[data-side='{QIANFENG.id}']")).to_contain_text(FINDINGS)
    await expect(officer.locator("form.findings")).to_have_count(0)  # nothing left to report
    await officer.context.close()


async def _seen(node: ConsoleNode, path: str, until: Any) -> None:
    async def there() -> bool:
        return bool(until(await _get(node.api, Role.MEDIATOR, path)))

    await wait_until(there, 30, f"{path} at {node.runtime.settings.jurisdiction}")

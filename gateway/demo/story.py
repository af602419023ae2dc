"""What the demo shows, in order: the seed mediation, the registry requests, the semiannual
report; then where to look (consoles, API docs) and who to log in as."""

from gateway.demo.desk import Case, Say
from gateway.demo.mediation import linked_mediation
from gateway.demo.registry import proxy_requests
from gateway.demo.report import half_year, report_summary, semiannual_report
from gateway.demo.seed import DALANG, QIANFENG
from gateway.demo.stage import Stage
from services.registry.model import registry_day
from services.runtime import utc_now


def heading(title: str) -> str:
    """A section title of the narration."""
    return f"\n== {title} =="


async def play(stage: Stage, say: Say) -> Case:
    """Run the three seed scenarios over both nodes' APIs; the co-signed report."""
    dalang, qianfeng = stage.desks[DALANG.jurisdiction], stage.desks[QIANFENG.jurisdiction]
    today = registry_day(utc_now())  # the registry's day, in China Standard Time
    say(heading("1. 矛盾联调 Linked mediation: the Guangxing land dispute"))
    await linked_mediation(dalang, qianfeng, say)
    say(heading("2. 户籍窗口代办 Household-registry proxy requests at Dalang's window"))
    await proxy_requests(dalang, qianfeng, today, say)
    say(heading("3. 半年报 The semiannual report, reconciled and co-signed"))
    report = await semiannual_report(dalang, qianfeng, half_year(today), say)
    say(heading("Result"))
    for line in report_summary(report):
        say(line)
    return report


def access(stage: Stage) -> list[str]:
    """The consoles, the API docs and the demo logins of both nodes."""
    lines = [heading("Try it yourself")]
    for node in stage.nodes:
        lines += [
            f"{node.bureau.zh} {node.bureau.en}",
            f"  console   {node.url}/console/",
            f"  API docs  {node.url}/docs",
        ]
    lines.append("\nLogins (the token is the password; each user belongs to one node):")
    for node in stage.nodes:
        for role, token in stage.desks[node.bureau.jurisdiction].tokens.items():
            lines.append(f"  {node.bureau.short:<12} {role.value:<15} {token}")
    return lines

"""`fengqiao doctor`: check a node's set-up before it goes live; say how to fix what is wrong."""

import asyncio
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from gateway.cli.console import reporting_input_errors, stdout_console
from gateway.cli.settings_option import ConfigOption, node_settings
from services.doctor.examination import Thresholds, examine
from services.doctor.findings import Finding, Verdict, healthy
from services.doctor.host import GIB
from services.doctor.region import utc_now

SOMETHING_WRONG = 1
MARKS = {
    Verdict.OK: "[green]✓[/]",
    Verdict.WARN: "[yellow]![/]",
    Verdict.FAIL: "[red]✗[/]",
    Verdict.SKIP: "–",
}


def doctor(
    config: ConfigOption = None,
    key_warning_days: Annotated[
        int, typer.Option("--key-warning-days", min=0, help="warn when a key expires sooner")
    ] = 30,
    min_free_gb: Annotated[
        float, typer.Option("--min-free-gb", min=0, help="free disk below this fails")
    ] = 2.0,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="seconds to wait for each NATS answer")
    ] = 2.0,
) -> None:
    """Check keys, agreement, clock, NATS, the link to each partner, the store and the disk.
    Exit 1 when something must be fixed before the node can work."""
    with reporting_input_errors():
        settings = node_settings(config)
    thresholds = Thresholds(
        key_warning=timedelta(days=key_warning_days),
        minimum_free_bytes=int(min_free_gb * GIB),
        nats_timeout_s=timeout,
    )
    findings = asyncio.run(examine(settings, thresholds, utc_now, config))
    stdout_console().print(findings_table(settings.jurisdiction, findings))
    if not healthy(findings):
        typer.echo("something must be fixed: see the ✗ lines")
        raise typer.Exit(SOMETHING_WRONG)
    typer.echo("ready to go live")


def findings_table(jurisdiction: str, findings: list[Finding]) -> Table:
    """One row per finding: mark, check, what was seen, how to fix it."""
    table = Table(title=f"fengqiao doctor: {jurisdiction}", show_lines=False)
    for column in ("", "check", "found", "fix"):
        table.add_column(column, overflow="fold")
    for f in findings:
        table.add_row(MARKS[f.verdict], f.check, f.detail, f.fix)
    return table

"""`fengqiao report export`: this node's semiannual figures, counted from its own store."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from contracts.agreement import AgreementBook
from gateway.cli.console import BadInput, progress_bar, reporting_input_errors
from gateway.cli.settings_option import ConfigOption, migrated_store, node_settings
from services.reports.counting import COUNTING_STEPS, count_figures
from services.reports.export import ExportFormat, ReportExport, render
from services.reports.export_file import render_bytes
from services.reports.period import Period, UnknownPeriod
from services.settings import NodeSettings

app = typer.Typer(help="The semiannual report (半年报).", no_args_is_help=True)


def display_names(book: AgreementBook, ids: list[str]) -> dict[str, str]:
    """The Chinese display name of each jurisdiction in `ids`, from the agreements in force."""
    today = datetime.now(UTC).date()
    names: dict[str, str] = {}
    for agreement_id in book.ids():
        loaded = book.in_force(agreement_id, today)
        for party in [] if loaded is None else loaded.agreement.parties:
            if party.id in ids:
                names[party.id] = party.name.zh
    return names


def partners_in_force(book: AgreementBook, me: str) -> list[str]:
    """Every jurisdiction sharing an agreement in force with `me` today."""
    today = datetime.now(UTC).date()
    found: set[str] = set()
    for agreement_id in book.ids():
        loaded = book.in_force(agreement_id, today)
        parties = [] if loaded is None else [p.id for p in loaded.agreement.parties]
        if me in parties:
            found |= set(parties) - {me}
    return sorted(found)


@app.command("export")
def export(
    period: Annotated[str, typer.Option(help="a half year: 2026-H1 or 2026-H2")],
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="json, csv, xlsx or pdf")
    ] = ExportFormat.JSON,
    out: Annotated[
        Path | None, typer.Option(help="write here instead of stdout (required for xlsx, pdf)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Count this node's figures for the period (a draft: not cosigned) and write them."""
    with reporting_input_errors():
        settings = node_settings(config)
        try:
            half = Period.parse(period)
        except UnknownPeriod as exc:
            raise BadInput(str(exc)) from None
        if fmt.binary and out is None:
            raise BadInput(f"{fmt.value} is a binary file: name it with --out")
        if out is not None and not out.parent.is_dir():
            raise BadInput(f"{out}: no folder {out.parent} to write it in")  # before counting
    console = Console(stderr=True)
    steps = [*COUNTING_STEPS, "render", "write"]
    with reporting_input_errors(), progress_bar(console) as progress:
        task = progress.add_task(f"{settings.jurisdiction} {half.name}", total=len(steps))

        def done(step: str) -> None:
            progress.update(task, advance=1, description=f"{half.name}: {step} done")

        report = asyncio.run(_count(settings, half, done))
        content = render(report, fmt).encode() if out is None else render_bytes(report, fmt)
        done("render")
        if out is not None:
            out.write_bytes(content)
        done("write")
    if out is None:
        typer.echo(content.decode(), nl=False)
        return
    console.print(f"{half.name} figures of {settings.jurisdiction} written to {out}")


async def _count(
    settings: NodeSettings, period: Period, on_step: Callable[[str], None]
) -> ReportExport:
    book = AgreementBook.from_paths(settings.agreements)
    partners = partners_in_force(book, settings.jurisdiction)
    if not partners:
        raise BadInput(f"{settings.jurisdiction} has no agreement in force with a partner")
    async with migrated_store(settings) as db, db.snapshot() as conn:
        figures = await count_figures(
            conn, settings.jurisdiction, partners, period, on_step=on_step
        )
    names = display_names(book, [settings.jurisdiction, *partners])
    return ReportExport(period.name, settings.jurisdiction, partners, figures, names=names)

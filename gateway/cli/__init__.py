"""The `fengqiao` command line: one module per command group, assembled here."""

import typer

from gateway.cli import (
    agreement,
    contracts,
    demo,
    doctor,
    keys,
    log,
    node,
    quarantine,
    report,
    users,
)

COMMAND_GROUPS: dict[str, typer.Typer] = {
    "keys": keys.app,
    "agreement": agreement.app,
    "node": node.app,
    "quarantine": quarantine.app,
    "log": log.app,
    "users": users.app,
    "report": report.app,
    "demo": demo.app,
    "contracts": contracts.app,
}
"""Each group is a Typer app in its own module (node, demo, report, log, replay, users: later)."""


def create_app() -> typer.Typer:
    """The root `fengqiao` app with every command group attached."""
    root = typer.Typer(
        name="fengqiao",
        help="Fengqiao 枫桥: cross-region police cooperation bus.",
        no_args_is_help=True,
        add_completion=False,
        # A traceback is for a bug, never for the operator's input; locals could hold keys.
        pretty_exceptions_show_locals=False,
    )
    for name, group in COMMAND_GROUPS.items():
        root.add_typer(group, name=name)
    root.command("doctor")(doctor.doctor)
    return root


def main() -> None:
    """Entry point of the `fengqiao` script."""
    create_app()()

"""The tables `fengqiao agreement show` prints, one per section of the agreement file."""

from datetime import date

from rich.console import Console
from rich.table import Table
from rich.text import Text

from contracts.agreement import (
    Agreement,
    HandlingCode,
    LoadedAgreement,
    PublicKey,
    key_state,
    key_warnings,
    start_of_day,
)

HANDLING = {
    HandlingCode.H0: "purpose of the agreement only",
    HandlingCode.H1: "not for court without the sender's consent",
    HandlingCode.H2: "no onward dissemination",
    HandlingCode.H3: "other restrictions, stated in the event",
}


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", caption_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _cells(*values: object) -> list[Text]:
    # Text, not markup: field patterns such as `parties[].id_number` must print as written.
    return [Text(str(v)) for v in values]


def render_agreement(console: Console, loaded: LoadedAgreement, on: date) -> None:
    """Every section of the agreement as readable tables, checked against day `on`."""
    a = loaded.agreement
    _print_summary(console, loaded, on)
    for table in (
        _parties(a),
        _keys(a, on),
        _catalogue(a),
        _flows(a),
        _personal_data(a),
        _signatures(loaded),
    ):
        console.print(table)


def _print_summary(console: Console, loaded: LoadedAgreement, on: date) -> None:
    a = loaded.agreement
    console.print(Text(f"{a.title.zh}\n{a.title.en}", style="bold"))
    lines = [
        f"agreement   {a.ref}" + (f" (supersedes version {a.supersedes})" if a.supersedes else ""),
        f"effective   {a.effective_from} to {a.effective_until}",
        f"reporting   every {a.reporting_period_months} months",
        f"retention   {a.retention_days} days",
    ]
    problems = loaded.problems(on)
    status = f"in force on {on}" if not problems else f"NOT in force on {on}"
    lines.append(f"status      {status}")
    lines += [f"            - {p}" for p in problems]
    lines += [f"warning     {w}" for w in key_warnings(a, on)]
    console.print(Text("\n".join(lines)))


def _parties(a: Agreement) -> Table:
    table = _table("Parties", "id", "name", "English name")
    for p in a.parties:
        table.add_row(*_cells(p.id, p.name.zh, p.name.en))
    return table


def _key_days(key: PublicKey, on: date) -> str:
    state = key_state(key, start_of_day(on))
    if state == "revoked" and key.revoked_at is not None:
        return f"revoked on {key.revoked_at.date()}"
    days = (key.valid_until.date() - on).days
    if state == "expired":
        return f"expired {-days} days ago"
    if state == "not_yet_valid":
        return f"valid in {(key.valid_from.date() - on).days} days"
    return f"{days} days left" + (
        f", revoked from {key.revoked_at.date()}" if key.revoked_at else ""
    )


def _keys(a: Agreement, on: date) -> Table:
    table = _table(f"Keys (on {on})", "party", "use", "kid", "valid from", "valid until", "state")
    for p in a.parties:
        for k in p.keys:
            table.add_row(
                *_cells(
                    p.id,
                    "signing" if k.use == "sig" else "encryption",
                    k.kid,
                    k.valid_from.date(),
                    k.valid_until.date(),
                    _key_days(k, on),
                )
            )
    return table


def _catalogue(a: Agreement) -> Table:
    count = sum(len(c.items) for c in a.categories)
    title = f"Catalogue: {len(a.categories)} categories, {count} items of cooperation"
    table = _table(title, "category", "item", "name", "event types")
    for number, category in enumerate(a.categories, start=1):
        for index, item in enumerate(category.items):
            heading = f"{number}. {category.name.zh}\n{category.name.en}" if index == 0 else ""
            table.add_row(
                *_cells(
                    heading,
                    item.id,
                    f"{item.name.zh}\n{item.name.en}",
                    "\n".join(item.event_types),
                ),
                end_section=index == len(category.items) - 1,
            )
    return table


def _who(a: Agreement, ids: list[str]) -> str:
    everyone = [p.id for p in a.parties]
    return "every party" if sorted(ids) == sorted(everyone) else "\n".join(ids)


def _flows(a: Agreement) -> Table:
    table = _table("Flows", "event type", "senders", "recipients", "versions", "handling")
    used = sorted({f.handling for f in a.flows})
    table.caption = "; ".join(f"{h.value}: {HANDLING[h]}" for h in used)
    for f in a.flows:
        table.add_row(
            *_cells(
                f.type,
                _who(a, f.senders),
                _who(a, f.recipients),
                ", ".join(str(v) for v in f.versions),
                f.handling.value,
            )
        )
    return table


def _personal_data(a: Agreement) -> Table:
    table = _table("Personal data", "event type", "fields")
    table.caption = "encrypted to the recipient field by field, masked in logs"
    for event_type, fields in a.personal_data.items():
        table.add_row(*_cells(event_type, "\n".join(fields)))
    return table


def _signatures(loaded: LoadedAgreement) -> Table:
    a = loaded.agreement
    table = _table("Signatures", "party", "kid", "status")
    message = loaded.signing_bytes()
    for s in a.signatures:
        problem = loaded.signature_problem(s, message)
        table.add_row(*_cells(s.party, s.kid, problem or "verifies"))
    signed = {s.party for s in a.signatures}
    for p in a.parties:
        if p.id not in signed:
            table.add_row(*_cells(p.id, "-", "not signed"))
    return table

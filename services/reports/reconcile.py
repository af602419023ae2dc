"""The partner's reconciliation: every figure where its own count differs from the proposal."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from contracts.events.reports import AcknowledgedDifference, ReportFigures
from services.reports.model import ChainHeadsDiffer, TooManyDifferences, UnexplainedDifferences

MAX_ACKNOWLEDGED = 500
"""The differences a cosignature explains at most (`ReportCosignedV1` in the contract)."""

Value = int | float | str


@dataclass(frozen=True)
class Difference:
    """One figure, by its dotted path, as proposed and as counted here (absent counts 0)."""

    figure: str
    proposed: Value
    counted: Value

    @property
    def on_chain(self) -> bool:
        """A chain head differs: the sides hold different envelopes."""
        return self.figure.startswith("chain_heads.")


def _items(prefix: str, value: object, absent: Value) -> Iterator[tuple[str, Value]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _items(f"{prefix}.{key}", inner, absent)
    elif value is None:
        yield prefix, absent
    elif isinstance(value, int | float | str):
        yield prefix, value


def flatten(figures: ReportFigures, absent: Value = 0) -> dict[str, Value]:
    """Every figure by dotted path; open items and chain heads keyed by what they name.

    A figure with no value (the median of no resolutions) is `absent`: 0 in a difference."""
    flat: dict[str, Value] = {}
    for part in ("disputes", "mediations", "proxy_requests"):
        flat |= dict(_items(part, getattr(figures, part).model_dump(mode="json"), absent))
    for item in figures.open_items:
        # The day is in the key (a case id has no `@`): an item opened on another day differs.
        flat[f"open_items.{item.kind}:{item.case_id}@{item.opened_on}"] = 1
    for head in figures.chain_heads:
        stream = f"chain_heads.{head.sender}>{head.recipient}"
        flat[f"{stream}.up_to_seq"] = head.up_to_seq
        flat[f"{stream}.chain_head"] = head.chain_head
    return flat


def differences(proposed: ReportFigures, counted: ReportFigures) -> list[Difference]:
    """Every figure where the two differ, in path order."""
    ours, theirs = flatten(proposed), flatten(counted)
    return [
        Difference(path, ours.get(path, 0), theirs.get(path, 0))
        for path in sorted(ours.keys() | theirs.keys())
        if ours.get(path, 0) != theirs.get(path, 0)
    ]


def acknowledge(
    found: list[Difference], explanations: Mapping[str, str]
) -> list[AcknowledgedDifference]:
    """Each difference with its explanation; refused when one is unexplained or on the chain."""
    chain = [d.figure for d in found if d.on_chain]
    if chain:
        raise ChainHeadsDiffer(f"the two sides' chains differ at {', '.join(chain)}")
    if len(found) > MAX_ACKNOWLEDGED:
        raise TooManyDifferences(
            f"the two sides' counts differ in {len(found)} figures, more than the "
            f"{MAX_ACKNOWLEDGED} a cosignature explains: find why the stores differ first"
        )
    missing = [d.figure for d in found if not explanations.get(d.figure)]
    if missing:
        raise UnexplainedDifferences(f"differences without an explanation: {', '.join(missing)}")
    return [
        AcknowledgedDifference(
            figure=d.figure,
            proposed=d.proposed,  # numeric: chain heads were refused above
            counted=d.counted,
            explanation=explanations[d.figure],
        )
        for d in found
    ]

"""Every event contract Fengqiao knows, the upcasters between majors, and the default registry.

A new version is a new model added to ALL_CONTRACTS (never an edited one); a new major also adds
its pure `dict -> dict` upcaster from the previous major to UPCASTERS.
"""

import types
import typing
from typing import Any

from pydantic import BaseModel

from contracts.events import bus, disputes, mediation, registry, reports
from contracts.events.base import EventData
from contracts.events.common import PERSONAL_FIELDS, Person
from contracts.registry import ContractRegistry, Upcaster

ALL_CONTRACTS: tuple[type[EventData], ...] = (
    disputes.DisputeReportedV1,
    disputes.DisputeRegradedV1,
    disputes.DisputeEscalatedV1,
    disputes.DisputeResolvedV1,
    disputes.DisputeClosedV1,
    mediation.MediationRequestedV1,
    mediation.MediationAcceptedV1,
    mediation.MediationDeclinedV1,
    mediation.MediationTaskAssignedV1,
    mediation.MediationFindingsReportedV1,
    mediation.MediationOutcomeProposedV1,
    mediation.MediationOutcomeSignedV1,
    mediation.MediationClosedV1,
    registry.RegistryProxyRequestedV1,
    registry.RegistryAcceptedV1,
    registry.RegistryMaterialsRequestedV1,
    registry.RegistryMaterialsSuppliedV1,
    registry.RegistryCompletedV1,
    registry.RegistryRejectedV1,
    registry.RegistryMaterialUploadedV1,
    bus.CumulativeReceiptV1,
    reports.ReportProposedV1,
    reports.ReportCosignedV1,
)

CASE_ID_FIELDS: dict[str, str] = {
    "dispute": "dispute_id",
    "mediation": "mediation_id",
    "registry": "request_id",
    "report": "report_id",
}
"""The field naming the case an event belongs to, by flow (bus events belong to a stream)."""

UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""`(event type, major N) -> upcaster from N to N+1`. Empty while every contract is at 1.x."""


def default_registry() -> ContractRegistry:
    """A registry of every contract and upcaster, built fresh on each call."""
    return ContractRegistry(ALL_CONTRACTS, dict(UPCASTERS))


def case_id(event: EventData) -> str | None:
    """The id of the case `event` belongs to; None for the bus's own events."""
    field = CASE_ID_FIELDS.get(event.event_type.partition(".")[0])
    return None if field is None else str(getattr(event, field))


def personal_data_paths(model: type[BaseModel]) -> list[str]:
    """The personal fields of a model as agreement patterns (`parties[].id_number`)."""
    paths: list[str] = []
    for name, field in model.model_fields.items():
        paths += [f"{name}{rest}" for rest in _person_paths(field.annotation)]
    return paths


def _person_paths(annotation: Any) -> list[str]:
    """Suffixes reaching personal fields from a value of type `annotation`."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return [p for arg in args if arg is not type(None) for p in _person_paths(arg)]
    if origin is list:
        return [f"[]{p}" for p in _person_paths(args[0])]
    if origin is typing.Annotated:
        return _person_paths(args[0])
    if isinstance(annotation, type) and issubclass(annotation, Person):
        return [f".{f}" for f in PERSONAL_FIELDS]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f".{p}" for p in personal_data_paths(annotation)]
    return []

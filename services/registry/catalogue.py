"""The service catalogue both registries agree on, read once when first needed."""

from functools import cache

from contracts.events.service_catalogue import (
    RegistryService,
    ServiceCatalogue,
    UnknownRegistryService,
    load_service_catalogue,
)
from services.registry.model import UnknownService


@cache
def service_catalogue() -> ServiceCatalogue:
    """The catalogue shipped with the contracts (an immutable, versioned file)."""
    return load_service_catalogue()


def registry_service(code: str) -> RegistryService:
    """The catalogue's service `code`; raises UnknownService (a refusal the inbox quarantines)."""
    try:
        return service_catalogue().service(code)
    except UnknownRegistryService as exc:
        raise UnknownService(str(exc)) from exc

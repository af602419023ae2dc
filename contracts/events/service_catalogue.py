"""The catalogue of household-registry services both bureaus agree on (registry_services.yaml)."""

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from contracts.events.common import ServiceCode

SERVICE_CATALOGUE_PATH = Path(__file__).resolve().parent / "registry_services.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceName(_Strict):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Material(_Strict):
    """A material an applicant supplies, named in both languages."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class RegistryService(_Strict):
    """One service the home registry performs for a proxy request."""

    code: ServiceCode
    name: ServiceName
    materials: list[Material] = Field(min_length=1)
    time_limit_days: int = Field(ge=1, le=365)
    on_the_spot: bool = False

    def material(self, code: str) -> Material | None:
        return next((m for m in self.materials if m.code == code), None)


class UnknownRegistryService(LookupError):
    """A service code the catalogue does not list."""


class ServiceCatalogueError(ValueError):
    """A catalogue file that cannot be read or does not describe a valid catalogue."""


class ServiceCatalogue(_Strict):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    version: int = Field(ge=1)
    services: list[RegistryService] = Field(min_length=1)

    @model_validator(mode="after")
    def _codes_unique(self) -> "ServiceCatalogue":
        codes = [s.code for s in self.services]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"service codes listed twice: {', '.join(twice)}")
        return self

    @property
    def codes(self) -> list[str]:
        return [s.code for s in self.services]

    def service(self, code: str) -> RegistryService:
        """The service with `code`; raises UnknownRegistryService."""
        found = next((s for s in self.services if s.code == code), None)
        if found is None:
            raise UnknownRegistryService(f"service {code!r} is not in {self.id}@{self.version}")
        return found


def load_service_catalogue(path: Path | None = None) -> ServiceCatalogue:
    """Read and validate a service catalogue (the one shipped in contracts by default)."""
    source = path or SERVICE_CATALOGUE_PATH
    try:
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
        return ServiceCatalogue.model_validate(document)
    except (OSError, yaml.YAMLError) as exc:
        raise ServiceCatalogueError(f"{source}: {exc}") from exc
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
        raise ServiceCatalogueError(f"{source}: invalid catalogue: {details}") from exc

"""The contract registry: which event types and versions exist, and how old majors upcast.

A reader accepts any minor version of a major it knows (minors only add optional fields) and
refuses an unknown major loudly. Upcasters are pure `dict -> dict` functions from major N to N+1.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from contracts.errors import SchemaViolation, UnknownContractVersion, UnknownEventType
from contracts.events.base import EventData

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
SCHEMA_URI_PREFIX = "https://fengqiao.example/contracts/"


def parse_version(text: str) -> tuple[int, int]:
    """`"1.2"` -> `(1, 2)`; raises UnknownContractVersion for anything else."""
    major, dot, minor = text.partition(".")
    if not (dot and major.isdigit() and minor.isdigit()):
        raise UnknownContractVersion(f"version {text!r} is not MAJOR.MINOR")
    return int(major), int(minor)


def schema_uri(event_type: str, version: tuple[int, int]) -> str:
    """The `dataschema` of an event: `<prefix><type>/<major>.<minor>`."""
    return f"{SCHEMA_URI_PREFIX}{event_type}/{version[0]}.{version[1]}"


def parse_schema_uri(uri: str) -> tuple[str, tuple[int, int]]:
    """(event type, version) named by a `dataschema` URI."""
    if not uri.startswith(SCHEMA_URI_PREFIX) or uri.count("/") < 1:
        raise UnknownContractVersion(f"dataschema {uri!r} is not a Fengqiao contract")
    event_type, _, version = uri.removeprefix(SCHEMA_URI_PREFIX).rpartition("/")
    return event_type, parse_version(version)


class ContractRegistry:
    """Every known contract version, looked up by type and major."""

    def __init__(
        self,
        models: Iterable[type[EventData]],
        upcasters: Mapping[tuple[str, int], Upcaster] | None = None,
    ) -> None:
        self._models: dict[str, dict[tuple[int, int], type[EventData]]] = {}
        for model in models:
            versions = self._models.setdefault(model.event_type, {})
            if model.version in versions:
                raise ValueError(f"{model.event_type} {model.version} registered twice")
            versions[model.version] = model
        self._upcasters = dict(upcasters or {})
        # The newest model of each type, and of each of its majors (key None: of all of them).
        self._latest: dict[tuple[str, int | None], type[EventData]] = {
            (event_type, major): versions[
                max(v for v in versions if major is None or v[0] == major)
            ]
            for event_type, versions in self._models.items()
            for major in [None, *{v[0] for v in versions}]
        }
        problems = self.upcaster_problems()
        if problems:
            raise ValueError("; ".join(problems))

    def upcaster_problems(self) -> list[str]:
        """Each major short of the newest needs an upcaster to the next, which must exist."""
        problems = [
            f"upcaster for {t} {m}.x names no known contract"
            for t, m in self._upcasters
            if m not in {v[0] for v in self._models.get(t, {})}
        ]
        for event_type, versions in self._models.items():
            majors = sorted({v[0] for v in versions})
            for major in majors[:-1]:
                if (event_type, major) not in self._upcasters:
                    problems.append(f"{event_type} {major}.x has no upcaster to {major + 1}.x")
                if major + 1 not in majors:
                    problems.append(f"{event_type} {major + 1}.x is missing between the majors")
        return problems

    def __iter__(self) -> Iterator[type[EventData]]:
        for versions in self._models.values():
            yield from versions.values()

    @property
    def event_types(self) -> list[str]:
        return sorted(self._models)

    def latest(self, event_type: str, major: int | None = None) -> type[EventData]:
        """The newest model of a type (within `major` when given)."""
        model = self._latest.get((event_type, major))
        if model is None:
            self._versions(event_type)  # UnknownEventType
            raise UnknownContractVersion(f"{event_type} has no major version {major}")
        return model

    def read(self, event_type: str, version: tuple[int, int], data: Any) -> EventData:
        """Validate `data` of `event_type` at `version` and upcast it to the newest major."""
        versions = self._versions(event_type)
        major = version[0]
        if major not in {v[0] for v in versions}:
            known = ", ".join(sorted({str(v[0]) for v in versions}))
            raise UnknownContractVersion(
                f"{event_type} major version {major} is unknown here (known: {known})"
            )
        model = self.latest(event_type, major)
        validated = self._validate(model, data)
        newest = max(versions)[0]
        if major == newest:
            return validated
        payload = validated.model_dump(mode="json")
        while major < newest:
            payload = self._upcasters[(event_type, major)](payload)
            major += 1
            model = self.latest(event_type, major)
        return self._validate(model, payload)

    def _versions(self, event_type: str) -> dict[tuple[int, int], type[EventData]]:
        try:
            return self._models[event_type]
        except KeyError:
            raise UnknownEventType(f"event type {event_type!r} is not a known contract") from None

    @staticmethod
    def _validate(model: type[EventData], data: Any) -> EventData:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            fields = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(data)'}: {e['msg']}"
                for e in exc.errors()
            )
            raise SchemaViolation(f"{model.event_type} {model.version_text()}: {fields}") from exc

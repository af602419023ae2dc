"""What every event contract shares."""

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class EventData(BaseModel):
    """The `data` of an event. Subclasses set `event_type` and `version` (major, minor).

    Unknown fields are ignored, so a reader accepts a higher minor version of a major it knows.
    A contract is immutable once published: a change is a new class with a new version.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, use_enum_values=True)

    event_type: ClassVar[str]
    version: ClassVar[tuple[int, int]]

    @classmethod
    def version_text(cls) -> str:
        return f"{cls.version[0]}.{cls.version[1]}"

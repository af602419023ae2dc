"""Text the API accepts: any, but the NUL character, which PostgreSQL cannot store (the step
would fail there, or at a partner that stores what it receives) and nobody means to send."""

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator


def nul_at(value: Any, path: str = "") -> str | None:
    """Where the first string holding a NUL is in a JSON value (`applicant.address`), if any."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = nul_at(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("holds a NUL character")
    return text


Term = Annotated[str, AfterValidator(_no_nul)]
"""A query parameter's text: anything but a NUL."""


class RequestBody(BaseModel):
    """A request body: no field it does not name, and no NUL in any of its strings."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul_anywhere(cls, data: Any) -> Any:
        where = nul_at(data)
        if where is not None:
            raise ValueError(f"{where or 'the body'} holds a NUL character")
        return data

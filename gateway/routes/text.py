"""Text the API accepts: any, but the NUL character, which PostgreSQL cannot store (the step
would fail there, or at a partner that stores what it receives) and nobody means to send; and
identity numbers whose last character is their check digit, so that a number mistyped at a
window is caught there, not at the home registry days later."""

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

from contracts.events.common import check_character


def check_digit_matches(id_number: str) -> bool:
    """Whether the 18th character of a resident identity number is the check character of the
    17 before it; True for what is not 17 digits and one more character, which the contract's
    pattern refuses with its own message."""
    if len(id_number) != 18 or not id_number[:17].isdigit():
        return True
    return check_character(id_number[:17]) == id_number[17]


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a JSON value, with where it is (`applicant.address`)."""
    if isinstance(value, str):
        yield path, value
        return
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        yield from _strings(item, f"{path}.{key}" if path else str(key))


def refusal(value: Any) -> str | None:
    """Why a request body's strings are refused (naming where, never the value), if they are."""
    for path, text in _strings(value):
        if "\x00" in text:
            return f"{path or 'the body'} holds a NUL character"
        if path.rpartition(".")[2] == "id_number" and not check_digit_matches(text):
            return f"{path}: its last character is not the check digit of the 17 before it"
    return None


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("holds a NUL character")
    return text


Term = Annotated[str, AfterValidator(_no_nul)]
"""A query parameter's text: anything but a NUL."""


class RequestBody(BaseModel):
    """A request body: no field it does not name, no NUL in any of its strings, and identity
    numbers with their check digit right."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _refused_text(cls, data: Any) -> Any:
        why = refusal(data)
        if why is not None:
            raise ValueError(why)
        return data

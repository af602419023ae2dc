"""Text the API accepts: any, but the NUL character, which PostgreSQL cannot store (the step
would fail there, or at a partner that stores what it receives) and nobody means to send; and
identity numbers whose last character is their check digit, so that a number mistyped at a
window is caught there, not at the home registry days later."""

import re
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Annotated, Any, Self

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    model_validator,
)

from contracts.events.common import check_character


def check_digit_matches(id_number: str) -> bool:
    """Whether the 18th character of a resident identity number is the check character of the
    17 before it; True for what is not 17 digits and one more character, which the contract's
    pattern refuses with its own message."""
    body = id_number[:17]
    if len(id_number) != 18 or not (body.isascii() and body.isdigit()):
        return True
    return check_character(body) == id_number[17]


_NUL = b"\\u0000"  # how JSON writes a NUL in a string
_ID_NUMBER = re.compile(rb'"id_number":"([0-9]{17}[0-9X])"')


def refusal(value: Any) -> str | None:
    """Why a request body's strings are refused (naming where, never the value), if they are.

    Looked for in the body as JSON text first (a batch of 500 reports in ~0.6 ms), and only
    when something is found, walked to say where."""
    try:
        text = orjson.dumps(value)
    except TypeError:  # not JSON data (a model made in code): walked
        text = None
    if text is not None and _NUL not in text:
        numbers = (m.group(1).decode() for m in _ID_NUMBER.finditer(text))
        if all(check_digit_matches(number) for number in numbers):
            return None
    for path, found in _strings(value):
        if "\x00" in found:
            return f"{path or 'the body'} holds a NUL character"
        if path.rpartition(".")[2] == "id_number" and not check_digit_matches(found):
            return f"{path}: its last character is not the check digit of the 17 before it"
    return None


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


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("holds a NUL character")
    return text


Term = Annotated[str, AfterValidator(_no_nul)]
"""A query parameter's text: anything but a NUL."""

_CHECKED: ContextVar[bool] = ContextVar("request_body_checked", default=False)


class RequestBody(BaseModel):
    """A request body: no field it does not name, no NUL in any of its strings, and identity
    numbers with their check digit right (checked once, for the whole body: the bodies within
    it, a batch's reports, are not looked at again)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="wrap")
    @classmethod
    def _refused_text(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        if _CHECKED.get():
            return handler(data)
        why = refusal(data)
        if why is not None:
            raise ValueError(why)
        checked = _CHECKED.set(True)
        try:
            return handler(data)
        finally:
            _CHECKED.reset(checked)

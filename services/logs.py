"""The node's log: one JSON object a line on stdout (journald keeps it), or plain text.

Each line carries the time (UTC), level, logger and message, what the call site adds with
`extra=` (a quarantined envelope's sender, event id and correlation id, say), and the id of the
HTTP request being served when it was written (`REQUEST_ID`, set by the API for each request and
returned to its client in `X-Request-ID`), so that one request's or one case's lines are found
together.

The code never logs personal data. As a second line of defence every line, traceback
included, is masked as the API masks for those who may not read it in full: identity numbers
(18 characters) and mobile numbers that appear anywhere in it keep only their ends.
"""

import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["json", "text"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The id of the HTTP request whose handling writes the line, if any."""

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(1[3-9]\d)\d{4}(\d{4})(?![0-9A-Za-z])")


def mask_personal(text: str) -> str:
    """`text` with every identity number and mobile number in it masked (`511602********1232`,
    `138****8000`), as gateway.masking masks them."""
    return _MOBILE.sub(r"\1****\2", _ID_NUMBER.sub(r"\1********\2", text))


class _JsonLines(JsonFormatter):
    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(
            timespec="milliseconds"
        )
        super().add_fields(log_data, record, message_dict)
        request_id = REQUEST_ID.get()
        if request_id is not None:
            log_data.setdefault("request_id", request_id)

    def format(self, record: logging.LogRecord) -> str:
        return mask_personal(super().format(record))


class _TextLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_personal(super().format(record))


def formatter(log_format: LogFormat) -> logging.Formatter:
    """The formatter of the node's log lines."""
    if log_format == "text":
        return _TextLines(TEXT_FORMAT)
    return _JsonLines(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        json_ensure_ascii=False,
    )


def configure_logging(log_format: LogFormat = "json", level: LogLevel = "INFO") -> None:
    """Send every logger's lines to stdout in `log_format`, from `level` up."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter(log_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)

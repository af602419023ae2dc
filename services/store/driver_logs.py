"""The database driver's own log, kept free of the rows the node stores.

aiosqlite logs every call it runs at DEBUG with its arguments: the SQL statement and its
parameters, which hold identity numbers, phones and addresses in clear. Those arguments are not
fields of an event that `mask_fields` could mask, so the call is kept by name and its arguments
hidden, whatever level an operator sets the driver's logger to.
"""

import functools
import logging

DRIVER_LOGGERS = ("aiosqlite",)


class HiddenCallArguments(logging.Filter):
    """Replace each logged call (a functools.partial) by its name: `execute(…)`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_call_name(arg) for arg in record.args)
        return True


def _call_name(arg: object) -> object:
    if isinstance(arg, functools.partial):
        return f"{getattr(arg.func, '__name__', 'call')}(…)"
    return arg


def hide_driver_arguments() -> None:
    """Attach the filter to the drivers' loggers, once (the store calls this when it opens)."""
    for name in DRIVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, HiddenCallArguments) for f in logger.filters):
            logger.addFilter(HiddenCallArguments())

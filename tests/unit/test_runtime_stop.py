"""Stopping a node always ends: a loop that does not end on its cancel, or a NATS connection
that does not close, is waited for a bounded time, named in the log, and left behind."""

import asyncio
import logging

import pytest

from services.runtime import NodeRuntime
from services.settings import NodeSettings


async def _stubborn(release: asyncio.Event) -> None:
    """A loop that swallows its cancel until `release` is set."""
    while not release.is_set():
        try:
            await release.wait()
        except asyncio.CancelledError:
            continue


class _NeverClosing:
    """A connection whose close never returns."""

    is_closed = False

    async def close(self) -> None:
        await asyncio.Event().wait()


def _runtime() -> NodeRuntime:
    runtime = NodeRuntime(NodeSettings.model_construct())
    runtime.stop_wait_s = 0.2
    return runtime


async def test_a_loop_that_ignores_its_cancel_is_named_and_left_behind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime, release = _runtime(), asyncio.Event()
    stubborn = asyncio.create_task(_stubborn(release), name="receiver")
    obedient = asyncio.create_task(asyncio.sleep(3600), name="relay")
    runtime.tasks = [stubborn, obedient]
    with caplog.at_level(logging.ERROR, logger="services.runtime"):
        await asyncio.wait_for(runtime.stop(), 5)
    assert obedient.cancelled() and not stubborn.done()
    assert [r.getMessage() for r in caplog.records] == [
        "the receiver loop did not end within 0.2 s of its cancel; left behind"
    ]
    assert runtime.tasks == []
    release.set()
    await stubborn


async def test_a_connection_that_does_not_close_is_logged_and_stop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime = _runtime()
    runtime.nc = _NeverClosing()  # type: ignore[assignment]
    with caplog.at_level(logging.ERROR, logger="services.runtime"):
        await asyncio.wait_for(runtime.stop(), 5)
    assert [r.getMessage() for r in caplog.records] == [
        "the NATS connection did not close within 0.2 s"
    ]

"""The NATS client's connection reports, one line each, a repeated failure once a while."""

import logging

import pytest

from services.nats_events import NatsEvents


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "services.nats"]


async def test_a_server_down_is_one_line_per_window_with_how_often_it_recurred(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    events = NatsEvents("nats://dalang:s3cret@127.0.0.1:4222", every_s=10, clock=clock)
    refused = ConnectionRefusedError(111, "Connect call failed")
    for _ in range(20):  # every half second for ten seconds
        await events.error(refused)
        clock.now += 0.5
    await events.error(refused)

    assert lines(caplog) == [
        "NATS at nats://dalang@127.0.0.1:4222: ConnectionRefusedError: "
        "[Errno 111] Connect call failed; retrying",
        "NATS at nats://dalang@127.0.0.1:4222: ConnectionRefusedError: "
        "[Errno 111] Connect call failed (19 more times since); retrying",
    ]
    assert all("s3cret" not in r.getMessage() and not r.exc_info for r in caplog.records)


async def test_a_different_failure_is_logged_at_once_and_a_reconnection_starts_afresh(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    events = NatsEvents("nats://a:4222, nats://b:4222", clock=Clock())
    await events.error(ConnectionRefusedError(111, "Connect call failed"))
    await events.error(TimeoutError())
    await events.disconnected()
    await events.reconnected()
    await events.error(TimeoutError())

    assert lines(caplog) == [
        "NATS at nats://a:4222, nats://b:4222: ConnectionRefusedError: "
        "[Errno 111] Connect call failed; retrying",
        "NATS at nats://a:4222, nats://b:4222: TimeoutError; retrying",
        "NATS at nats://a:4222, nats://b:4222: connection lost; reconnecting",
        "NATS at nats://a:4222, nats://b:4222: reconnected",
        "NATS at nats://a:4222, nats://b:4222: TimeoutError; retrying",
    ]


async def test_an_error_that_is_not_about_the_connection_is_not_said_to_be_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from nats.errors import SlowConsumerError

    events = NatsEvents("nats://a:4222", clock=Clock())
    await events.error(SlowConsumerError(subject="fq.x", reply="", sid=1, sub=None))

    [line] = lines(caplog)
    assert line.startswith("NATS at nats://a:4222: SlowConsumerError") and "retrying" not in line

"""The node's log lines: JSON objects (or text) with the request they were written for, and
identity and mobile numbers masked wherever they appear."""

import contextvars
import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI

from gateway.problems import install_problem_handlers
from gateway.request_ids import RequestIds
from services.logs import REQUEST_ID, LogFormat, formatter, mask_personal

ID_NUMBER, PHONE = "511602199003071232", "13800138000"


@contextmanager
def json_lines(name: str) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """The logger `name` writing JSON lines into a buffer."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(formatter("json"))
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    level, logger.level = logger.level, logging.INFO
    try:
        yield logger, written
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    with json_lines("fengqiao.test-logs") as both:
        yield both


def _records(written: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in written.getvalue().splitlines()]


def test_a_line_is_one_json_object_with_time_level_logger_message_and_extras(lines):
    logger, written = lines
    logger.warning("quarantined %s", "广安前锋", extra={"sender": "guangan-qianfeng"})

    [line] = _records(written)
    assert list(line)[:4] == ["time", "level", "logger", "message"]
    assert datetime.fromisoformat(line["time"]).utcoffset().total_seconds() == 0
    assert (line["level"], line["logger"]) == ("WARNING", "fengqiao.test-logs")
    assert (line["message"], line["sender"]) == ("quarantined 广安前锋", "guangan-qianfeng")
    assert "request_id" not in line


def test_a_line_written_while_a_request_is_served_names_it(lines):
    logger, written = lines

    def serving() -> None:
        REQUEST_ID.set("window-42")
        logger.info("filed")

    contextvars.copy_context().run(serving)
    logger.info("idle")

    assert [line.get("request_id") for line in _records(written)] == ["window-42", None]


def test_identity_and_mobile_numbers_are_masked_in_message_extras_and_traceback(lines):
    logger, written = lines
    try:
        raise ValueError(f"bad {ID_NUMBER}")
    except ValueError:
        logger.exception("refused %s, call %s", ID_NUMBER, PHONE, extra={"who": PHONE})

    text = written.getvalue()
    assert ID_NUMBER not in text and PHONE not in text
    [line] = _records(written)
    assert line["message"] == "refused 511602********1232, call 138****8000"
    assert line["who"] == "138****8000"
    assert "ValueError: bad 511602********1232" in line["exc_info"]


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_both_formats_mask(log_format: LogFormat):
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "id %s", (ID_NUMBER,), None)
    assert "511602********1232" in formatter(log_format).format(record)


@pytest.mark.parametrize(
    "text",
    [
        "stream seq 1234567890123456789",  # 19 digits: not an identity number
        "head 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "event 0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "took 13800138000123 ns",  # 14 digits: not a mobile number
    ],
)
def test_what_only_looks_like_numbers_is_left_alone(text: str):
    assert mask_personal(text) == text


@pytest.fixture
async def api():
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestIds)

    async def crash() -> None:
        raise RuntimeError("no store")

    async def fine() -> dict[str, str | None]:
        return {"request_id": REQUEST_ID.get()}

    app.add_api_route("/crash", crash)
    app.add_api_route("/fine", fine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_a_request_keeps_the_id_its_client_gave_and_answers_with_it(api):
    response = await api.get("/fine", headers={"X-Request-ID": "window-7.2026:a_b"})

    assert response.headers["X-Request-ID"] == "window-7.2026:a_b"
    assert response.json() == {"request_id": "window-7.2026:a_b"}


@pytest.mark.parametrize("given", [None, b"two words", b"x" * 65, "café".encode()])
async def test_a_request_without_a_usable_id_is_given_a_new_one(api, given: bytes | None):
    headers = {} if given is None else {"X-Request-ID": given}
    response = await api.get("/fine", headers=headers)

    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 32 and int(request_id, 16) >= 0
    assert response.json() == {"request_id": request_id}


async def test_a_500_names_the_request_the_log_has_its_error_under(api):
    with json_lines("gateway.problems") as (_, written):
        response = await api.get("/crash", headers={"X-Request-ID": "req-500"})

    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "req-500"
    assert response.json()["detail"].endswith("the error is in its log under request req-500")
    [line] = _records(written)
    assert line["request_id"] == "req-500" and "RuntimeError: no store" in line["exc_info"]

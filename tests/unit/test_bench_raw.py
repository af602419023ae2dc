"""The bus-alone phase of `make bench` reads its consumer's lines strictly: a consumer that says
something else, or nothing, is a named error, not a hang or a wrong figure."""

import asyncio
import sys

import pytest

from scripts.bench_raw import _said


async def _saying(code: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
    )


async def test_the_numbers_after_the_word_are_read() -> None:
    consumer = await _saying("print('done 1765100000.25 3.5', flush=True)")
    assert await _said(consumer, "done", 5) == [1765100000.25, 3.5]
    await consumer.wait()


async def test_another_word_is_an_error_naming_what_was_said() -> None:
    consumer = await _saying("print('Traceback (most recent call last):', flush=True)")
    with pytest.raises(RuntimeError, match=r"said b'Traceback.*not 'ready'"):
        await _said(consumer, "ready", 5)
    await consumer.wait()


async def test_a_consumer_that_exits_silently_is_an_error() -> None:
    consumer = await _saying("pass")
    with pytest.raises(RuntimeError, match="said b'', not 'done'"):
        await _said(consumer, "done", 5)
    await consumer.wait()


async def test_silence_is_an_error_after_the_timeout() -> None:
    consumer = await _saying("import time; time.sleep(30)")
    with pytest.raises(RuntimeError, match=r"did not say 'ready' in 0\.2 s"):
        await _said(consumer, "ready", 0.2)
    consumer.kill()
    await consumer.wait()

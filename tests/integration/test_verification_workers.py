"""Verification worker processes live and die with the node that started them."""

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.processes import alive

ROOT = Path(__file__).resolve().parents[2]
NODE = """
import asyncio
from services.bus.verification_pool import VerificationPool
from tests.support.envelopes import Exchange

async def main():
    pool = VerificationPool(Exchange().verifier(), workers=2)
    assert await pool.ready()
    print(*pool._executor._processes, flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""


def test_a_killed_node_leaves_no_verification_worker_behind() -> None:
    node = subprocess.Popen(
        [sys.executable, "-c", NODE], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert node.stdout is not None
        workers = [int(pid) for pid in node.stdout.readline().split()]
        assert len(workers) == 2 and all(alive(pid) for pid in workers)
    finally:
        node.send_signal(signal.SIGKILL)
        node.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers)

"""The nats-server a node starts for itself does not outlive the node."""

import subprocess
import sys
import time
from pathlib import Path

from tests.support.processes import alive

_OWNER = """
import asyncio, sys
from pathlib import Path
from services.embedded_nats import EmbeddedNats

async def main() -> None:
    server = EmbeddedNats(Path(sys.argv[1]), "owner", own_process_group=True)
    await server.start()
    print(server.process.pid, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def test_embedded_server_stops_when_its_node_is_killed(tmp_path: Path) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    server_pid = int(owner.stdout.readline())
    assert alive(server_pid)
    owner.kill()
    owner.wait()
    deadline = time.monotonic() + 10
    while alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(server_pid), "nats-server outlived the killed node"

"""The nats-server a node starts for itself does not outlive the node."""

import os
import subprocess
import sys
import time
from pathlib import Path

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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    return state != "Z"


def test_embedded_server_stops_when_its_node_is_killed(tmp_path: Path) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    server_pid = int(owner.stdout.readline())
    assert _alive(server_pid)
    owner.kill()
    owner.wait()
    deadline = time.monotonic() + 10
    while _alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(server_pid), "nats-server outlived the killed node"

"""Run one node as its own process (so a test can SIGKILL it): `python -m tests.support.node_process
SETTINGS.json`. The node applies probe handlers; it runs until SIGTERM or SIGKILL.
"""

import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from services.runtime import NodeRuntime
from services.settings import NodeSettings
from tests.support.probe import probe_handlers, start_with_probe


async def main(settings_file: Path) -> None:
    settings = NodeSettings.model_validate(json.loads(settings_file.read_text()))
    runtime = NodeRuntime(settings, probe_handlers(["dispute.reported"]))
    await start_with_probe(runtime)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    (settings.data_dir / "ready").write_text("ready")
    await stop.wait()
    await runtime.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(main(Path(sys.argv[1])))

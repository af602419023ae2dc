"""The security suite's live scene: started once per module, on its own nats-server."""

from collections.abc import AsyncIterator

import pytest

from tests.security.scene import DOMAIN, Scene, running_scene
from tests.support.nats import single_region, stop_all


@pytest.fixture(scope="module")
async def scene(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Scene]:
    """Started once for the module: each attack leaves the nodes as a real attack would."""
    root = tmp_path_factory.mktemp("security")
    server = single_region(root, domain=DOMAIN)
    try:
        async with running_scene(root, server) as scene:
            yield scene
    finally:
        stop_all([server])

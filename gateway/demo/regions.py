"""The demo's two NATS regions, exactly as deploy/nats describes them: Qianfeng's server is the
hub (region-hub.conf, it listens for leaf links), Dalang's dials in as a leaf
(region-leaf.conf); each keeps its own JetStream domain."""

import secrets
from dataclasses import dataclass
from pathlib import Path

from services.embedded_nats import EmbeddedNats, free_port


@dataclass
class Region:
    """One bureau's region: its JetStream domain and the server that runs it."""

    domain: str
    server: EmbeddedNats


@dataclass
class TwoRegions:
    """The hub region and the leaf region joined to it."""

    hub: Region
    leaf: Region

    def stop(self) -> None:
        """Stop the leaf first (it dials the hub), then the hub."""
        self.leaf.server.stop()
        self.hub.server.stop()


async def start_two_regions(root: Path, hub_domain: str, leaf_domain: str) -> TwoRegions:
    """Start the hub, then the leaf dialling it; return once the link is up at both ends.

    Whatever started is stopped again if the link does not come up."""
    user, password, leaf_port = "leaf", secrets.token_hex(16), free_port()
    hub = EmbeddedNats(
        root / hub_domain,
        hub_domain,
        template="region-hub.conf",
        own_process_group=True,
        values={
            "leaf_host": "127.0.0.1",
            "leaf_port": str(leaf_port),
            "leaf_user": user,
            "leaf_password": password,
        },
    )
    hub_url = f'"nats-leaf://{user}:{password}@127.0.0.1:{leaf_port}"'
    leaf = EmbeddedNats(
        root / leaf_domain,
        leaf_domain,
        template="region-leaf.conf",
        own_process_group=True,
        values={"hub_leaf_urls": hub_url},
    )
    regions = TwoRegions(Region(hub_domain, hub), Region(leaf_domain, leaf))
    try:
        await hub.start()
        await leaf.start()
        await leaf.wait_linked()
        await hub.wait_linked()
    except BaseException:
        regions.stop()
        raise
    return regions

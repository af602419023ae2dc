"""Real nats-server fixtures shared by the integration and e2e suites (each conftest imports
the ones it uses), started from deploy/nats/ templates.

Function scope: each test gets fresh servers and stores (a server starts in ~0.1 s), and the
tests that stop, kill or cut them cannot leak state into the next one.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.nats import (
    NatsServer,
    RegionCluster,
    TwoRegions,
    region_cluster,
    running,
    single_region,
    two_regions,
)


@pytest.fixture
def nats_single(tmp_path: Path) -> Iterator[NatsServer]:
    """One region (domain `dalang`) on one server."""
    server = single_region(tmp_path)
    with running(server):
        yield server


@pytest.fixture(name="two_regions")
def two_regions_fixture(tmp_path: Path) -> Iterator[TwoRegions]:
    """Region `qianfeng` (hub, listens) and region `dalang` (leaf, dials it), linked."""
    regions = two_regions(tmp_path, hub="qianfeng", leaf="dalang")
    with running(*regions.servers):
        yield regions


@pytest.fixture(name="region_cluster")
def region_cluster_fixture(tmp_path: Path) -> Iterator[RegionCluster]:
    """Region `qianfeng` served by a 3-node JetStream cluster."""
    cluster = region_cluster(tmp_path, domain="qianfeng")
    with running(*cluster.nodes):
        yield cluster

"""Real nats-server processes for the integration suite (tests/support/regions.py)."""

from tests.support.regions import nats_single, region_cluster_fixture, two_regions_fixture

__all__ = ["nats_single", "region_cluster_fixture", "two_regions_fixture"]

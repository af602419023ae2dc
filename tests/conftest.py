"""Suites are marked by the folder they live in: unit, integration, e2e, chaos, security."""

from pathlib import Path

import pytest

pytest_plugins = ["tests.support.databases"]

SUITES = {"unit", "integration", "e2e", "chaos", "security"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        suite = Path(str(item.fspath)).relative_to(Path(__file__).parent).parts[0]
        if suite in SUITES:
            item.add_marker(getattr(pytest.mark, suite))

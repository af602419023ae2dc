"""Fixtures the unit suites share."""

from pathlib import Path

import pytest


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Settings of a Dalang node whose store and keys live under `tmp_path/var` (none yet)."""
    path = tmp_path / "node.toml"
    path.write_text(f'jurisdiction = "dongguan-dalang"\ndata_dir = "{tmp_path / "var"}"\n')
    return path

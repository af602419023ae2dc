"""`fengqiao report export --format json|csv|xlsx|pdf --out FILE` on a node's own store."""

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from typer.testing import CliRunner

from gateway.cli import create_app

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(f'jurisdiction = "dongguan-dalang"\ndata_dir = "{tmp_path / "var"}"\n')
    return path


def export(config: Path, fmt: str, *extra: str):
    args = ["report", "export", "--period", "2026-H1", "--format", fmt, "--config", str(config)]
    return runner.invoke(create_app(), [*args, *extra])


@pytest.mark.parametrize("fmt", ["json", "csv", "xlsx", "pdf"])
def test_each_format_is_written_to_the_file_named(config: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"

    result = export(config, fmt, "--out", str(out))

    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    if fmt == "json":
        document = json.loads(data)
        assert (document["period"], document["counted_by"]) == ("2026-H1", "dongguan-dalang")
        assert "guangan-qianfeng" in document["partners"]
    elif fmt == "csv":
        rows = dict(csv.reader(io.StringIO(data.decode("utf-8"))))
        assert rows["period"] == "2026-H1" and rows["disputes.reported"] == "0"
    elif fmt == "xlsx":
        summary = dict(load_workbook(io.BytesIO(data))["Summary"].iter_rows(values_only=True))
        assert summary["period"] == "2026-H1"
        assert summary["counted_by_name"] == "东莞市公安局大朗分局"
    else:
        assert data.startswith(b"%PDF-")
        text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
        assert "Semiannual report 2026-H1" in text
        assert "东莞市公安局大朗分局" in text and "广安市公安局前锋区分局" in text


def test_a_binary_format_without_a_file_is_one_error_line(config: Path) -> None:
    result = export(config, "pdf")

    assert result.exit_code == 2
    assert result.stderr.strip() == "error: pdf is a binary file: name it with --out"

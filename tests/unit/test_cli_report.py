"""`fengqiao report export --format json|csv|xlsx|pdf --out FILE` on a node's own store."""

import contextlib
import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from typer.testing import CliRunner

from gateway.cli import create_app

runner = CliRunner()


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


def test_a_file_in_a_folder_that_is_not_there_is_refused_before_counting(
    config: Path, tmp_path: Path
) -> None:
    result = export(config, "json", "--out", str(tmp_path / "no-such" / "r.json"))

    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {tmp_path / 'no-such' / 'r.json'}: no folder {tmp_path / 'no-such'} to write it in"
    )
    assert not (tmp_path / "var").exists()  # the store was not even opened


def test_a_binary_format_without_a_file_is_one_error_line(config: Path) -> None:
    result = export(config, "pdf")

    assert result.exit_code == 2
    assert result.stderr.strip() == "error: pdf is a binary file: name it with --out"


def test_an_export_beside_a_running_node_does_not_wait_for_its_write_lock(
    config: Path, tmp_path: Path
) -> None:
    """The node's open batch holds SQLite's write lock; the export's migration check and its
    counts read a snapshot instead of queueing behind it (up to the 30 s busy timeout)."""
    assert export(config, "json", "--out", str(tmp_path / "first.json")).exit_code == 0
    store = tmp_path / "var" / "dongguan-dalang.db"
    with contextlib.closing(sqlite3.connect(store, isolation_level=None)) as node:
        node.execute("BEGIN IMMEDIATE")
        node.execute(
            "INSERT INTO outbound_streams VALUES ('guangan-qianfeng', 1, ?, 0)", ("a" * 64,)
        )
        result = export(config, "json", "--out", str(tmp_path / "beside.json"))
        node.execute("ROLLBACK")

    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "beside.json").read_text())["counted_by"] == "dongguan-dalang"


@pytest.mark.parametrize("period", ["2026-H3", "0000-H1", "0001-H1"])
def test_a_period_that_is_no_half_year_of_the_calendar_is_one_error_line(
    config: Path, period: str
) -> None:
    args = ["report", "export", "--period", period, "--config", str(config)]

    result = runner.invoke(create_app(), args)

    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {period!r} is ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_more_open_items_than_a_report_carries_is_one_error_line_not_a_traceback(
    config: Path, tmp_path: Path
) -> None:
    assert export(config, "json", "--out", str(tmp_path / "first.json")).exit_code == 0
    store = tmp_path / "var" / "dongguan-dalang.db"
    request = (
        "dongguan-dalang", "guangan-qianfeng", "requested", "A", "id_card_renewal", 20, "post",
        "Lao Huang", "guangan-qianfeng", "Xiangtou station", "Li", "2026-03-01", "e", "e",
        "2026-03-01 00:00:00", "2026-03-01 00:00:00",
    )  # fmt: skip
    with contextlib.closing(sqlite3.connect(store)) as node, node:
        node.executemany(
            "INSERT INTO registry_requests (request_id, originator, home, state, handling, "
            "service_code, time_limit_days, delivery, applicant_name, applicant_home, "
            "window_name, responsible_clerk, filed_on, first_event_id, last_event_id, "
            "opened_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(f"PX-{n:05d}", *request) for n in range(10_001)],
        )

    result = export(config, "json", "--out", str(tmp_path / "long.json"))

    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        "error: 10001 open items at the end of 2026-H1: a report carries at most 10000"
    )

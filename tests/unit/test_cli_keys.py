import stat
from datetime import UTC, datetime

import pytest
import yaml
from typer.testing import CliRunner

from contracts.keys import key_id, public_raw, read_encryption_key, read_signing_key
from gateway.cli import create_app

runner = CliRunner()


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _keys_new(*args: str):
    return runner.invoke(create_app(), ["keys", "new", *args])


def test_keys_new_writes_owner_only_private_keys_and_prints_their_agreement_entries(tmp_path):
    result = _keys_new(
        "--jurisdiction",
        "dongguan-dalang",
        "--valid-from",
        "2022-01-01",
        "--valid-until",
        "2028-01-01",
    )

    assert result.exit_code == 0, result.output
    sig_path, enc_path = (
        tmp_path / "keys/dongguan-dalang.sig.pem",
        tmp_path / "keys/dongguan-dalang.enc.pem",
    )
    for path in (sig_path, enc_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    entries = yaml.safe_load(result.stdout)
    sig, enc = read_signing_key(sig_path), read_encryption_key(enc_path)
    assert [(e["kid"], e["use"]) for e in entries] == [
        (key_id("dongguan-dalang", "sig", public_raw(sig)), "sig"),
        (key_id("dongguan-dalang", "enc", public_raw(enc)), "enc"),
    ]
    assert {(e["valid_from"], e["valid_until"]) for e in entries} == {
        ("2022-01-01T00:00:00Z", "2028-01-01T00:00:00Z")
    }
    assert "PRIVATE" not in result.stdout


def test_keys_new_defaults_to_three_years_from_today(tmp_path):
    result = _keys_new("-j", "guangan-qianfeng", "--dir", "node-keys")

    assert result.exit_code == 0, result.output
    today = datetime.now(UTC).date()
    entry = yaml.safe_load(result.stdout)[0]
    assert entry["valid_from"] == f"{today.isoformat()}T00:00:00Z"
    assert entry["valid_until"].startswith(str(today.year + 3))
    assert (tmp_path / "node-keys/guangan-qianfeng.sig.pem").exists()


def test_keys_new_refuses_to_overwrite_existing_keys(tmp_path):
    assert _keys_new("-j", "dongguan-dalang").exit_code == 0
    before = (tmp_path / "keys/dongguan-dalang.sig.pem").read_bytes()

    again = _keys_new("-j", "dongguan-dalang")

    assert again.exit_code == 2
    assert again.stderr.startswith("error: refusing to overwrite keys/dongguan-dalang.sig.pem")
    assert again.stdout == ""
    assert (tmp_path / "keys/dongguan-dalang.sig.pem").read_bytes() == before


def test_keys_new_refuses_a_jurisdiction_id_that_is_not_a_subject_token(tmp_path):
    result = _keys_new("-j", "Dongguan Dalang")

    assert result.exit_code == 2
    assert "lower-case letters, digits" in result.stderr
    assert not (tmp_path / "keys").exists()


def test_keys_new_refuses_a_validity_window_that_ends_before_it_starts():
    result = _keys_new(
        "-j", "dongguan-dalang", "--valid-from", "2028-01-01", "--valid-until", "2022-01-01"
    )

    assert result.exit_code == 2
    assert result.stderr == "error: --valid-until must be after --valid-from\n"


@pytest.mark.parametrize(
    ("window", "error"),
    [
        (["--valid-from", "9998-03-01"], "--valid-from 9998-03-01 is too late for a default"),
        (
            ["--valid-until", "9999-12-31T23:00:00-05:00"],
            "--valid-until '9999-12-31T23:00:00-05:00' is out of range",
        ),
        (
            ["--valid-from", "0001-01-01T00:00:00+08:00"],
            "--valid-from '0001-01-01T00:00:00+08:00' is out of range",
        ),
    ],
    ids=["no room for the default term", "past year 9999 in UTC", "before year 1 in UTC"],
)
def test_keys_new_refuses_a_time_outside_the_calendar_in_one_line(tmp_path, window, error):
    result = _keys_new("-j", "dongguan-dalang", *window)

    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {error}") and result.stderr.count("\n") == 1
    assert not (tmp_path / "keys").exists()

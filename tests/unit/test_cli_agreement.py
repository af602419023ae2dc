import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contracts import AGREEMENTS_DIR
from contracts.agreement_text import write_signatures
from gateway.cli import create_app
from tests.support.trust import SM2_KEY_PEM

runner = CliRunner()
SHIPPED = AGREEMENTS_DIR / "dalang-qianfeng.yaml"
THREE_PARTY = AGREEMENTS_DIR / "qianfeng-prd.yaml"
DEMO_KEYS = AGREEMENTS_DIR.parents[1] / "deploy" / "demo" / "keys"
ON = "2026-05-01"


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def fengqiao(*args: str | Path):
    return runner.invoke(create_app(), [str(a) for a in args], env={"COLUMNS": "200"})


def _paste_keys(text: str, jurisdiction: str, printed: str) -> str:
    """Replace the party's `keys:` entries with what `keys new` printed, as an operator would."""
    lines = text.splitlines()
    keys_at = lines.index("    keys:", lines.index(f"  - id: {jurisdiction}"))
    end = keys_at + 1
    while lines[end].startswith("      "):
        end += 1
    entries = [line for line in printed.splitlines() if not line.startswith("#")]
    return "\n".join(lines[: keys_at + 1] + entries + lines[end:]) + "\n"


def _new_agreement_with_fresh_keys(tmp_path: Path) -> Path:
    text = write_signatures(SHIPPED.read_text(encoding="utf-8"), [])
    for jurisdiction in ("dongguan-dalang", "guangan-qianfeng"):
        created = fengqiao(
            "keys", "new", "--jurisdiction", jurisdiction, "--valid-from", "2022-01-01"
        )
        assert created.exit_code == 0, created.output
        text = _paste_keys(text, jurisdiction, created.stdout)
    copy = tmp_path / "dalang-qianfeng.yaml"
    copy.write_text(text, encoding="utf-8")
    return copy


def _assert_one_line_error(result, starts: str) -> None:
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {starts}")
    assert result.stderr.count("\n") == 1
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an uncaught error


def test_two_bureaus_create_keys_sign_and_the_agreement_is_in_force(tmp_path):
    copy = _new_agreement_with_fresh_keys(tmp_path)

    for jurisdiction in ("dongguan-dalang", "guangan-qianfeng"):
        signed = fengqiao(
            "agreement",
            "sign",
            copy,
            "--key",
            f"keys/{jurisdiction}.sig.pem",
            "--party",
            jurisdiction,
        )
        assert signed.exit_code == 0, signed.output
    verified = fengqiao("agreement", "verify", copy, "--on", ON)

    assert signed.stdout.endswith("signed by every party\n")
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.startswith("dalang-qianfeng@1 is in force on 2026-05-01")


def test_a_tampered_agreement_fails_verification_naming_every_broken_signature(tmp_path):
    copy = _new_agreement_with_fresh_keys(tmp_path)
    for jurisdiction in ("dongguan-dalang", "guangan-qianfeng"):
        fengqiao(
            "agreement",
            "sign",
            copy,
            "--key",
            f"keys/{jurisdiction}.sig.pem",
            "--party",
            jurisdiction,
        )
    text = copy.read_text(encoding="utf-8")
    copy.write_text(text.replace("retention_days: 1825", "retention_days: 3650"), encoding="utf-8")

    result = fengqiao("agreement", "verify", copy, "--on", ON)

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "dalang-qianfeng@1 is NOT in force on 2026-05-01:",
        "  - signature of dongguan-dalang: does not verify",
        "  - signature of guangan-qianfeng: does not verify",
        "  - not signed by dongguan-dalang",
        "  - not signed by guangan-qianfeng",
    ]


def test_verify_lists_who_has_not_signed_and_when_the_term_starts(tmp_path):
    copy = _new_agreement_with_fresh_keys(tmp_path)
    fengqiao(
        "agreement",
        "sign",
        copy,
        "--key",
        "keys/guangan-qianfeng.sig.pem",
        "--party",
        "guangan-qianfeng",
    )

    result = fengqiao("agreement", "verify", copy, "--on", "2022-02-01")

    assert result.exit_code == 1
    assert result.stdout.splitlines()[1:] == [
        "  - not signed by dongguan-dalang",
        "  - not yet effective on 2022-02-01: takes effect on 2022-03-01",
    ]


def test_show_prints_parties_keys_catalogue_flows_and_signatures():
    result = fengqiao("agreement", "show", THREE_PARTY, "--on", ON)

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "status      in force on 2026-05-01" in out
    for name in ("深圳市公安局龙岗分局", "Guang'an PSB Qianfeng branch", "shenzhen-longgang/sig/"):
        assert name in out
    assert "4 categories, 8 items of cooperation" in out
    flow_row = next(
        line for line in out.splitlines() if "registry.proxy_requested" in line and "│ 1" in line
    )
    assert "dongguan-dalang" in flow_row and "guangan-qianfeng" in flow_row and "H2" in flow_row
    assert "parties[].id_number" in out
    assert out.count("verifies") == 3


def test_missing_file_is_a_one_line_error(tmp_path):
    result = fengqiao("agreement", "verify", tmp_path / "nowhere.yaml")

    _assert_one_line_error(result, f"{tmp_path / 'nowhere.yaml'}: No such file or directory")


def test_bad_yaml_is_a_one_line_error_with_its_position(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\nflows: [a, b\nversion: 1\n", encoding="utf-8")

    result = fengqiao("agreement", "show", broken)

    _assert_one_line_error(result, f"{broken}: not valid YAML: line 3, column 8")


def test_invalid_fields_are_listed_one_per_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    text = SHIPPED.read_text(encoding="utf-8").replace("version: 1", "version: zero")
    bad.write_text(
        text.replace('effective_until: "2027-02-28"', 'effective_until: "someday"'),
        encoding="utf-8",
    )

    result = fengqiao("agreement", "verify", bad)

    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: {bad}: invalid agreement:"
    assert [line.split(":")[0] for line in lines[1:]] == ["  - version", "  - effective_until"]


def test_signing_with_the_encryption_key_is_refused_in_one_line(tmp_path):
    copy = tmp_path / "a.yaml"
    copy.write_text(SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")
    enc = DEMO_KEYS / "dongguan-dalang.enc.pem"

    result = fengqiao("agreement", "sign", copy, "--key", enc, "--party", "dongguan-dalang")

    _assert_one_line_error(result, f"{enc} does not hold an Ed25519 signing key")
    assert copy.read_text(encoding="utf-8") == SHIPPED.read_text(encoding="utf-8")


def test_signing_for_another_party_is_refused(tmp_path):
    copy = tmp_path / "a.yaml"
    copy.write_text(SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")
    key = DEMO_KEYS / "dongguan-dalang.sig.pem"

    result = fengqiao("agreement", "sign", copy, "--key", key, "--party", "guangan-qianfeng")

    _assert_one_line_error(
        result, "key dongguan-dalang/sig/4aaa2ac3496692c5 belongs to another party"
    )


def test_a_date_that_is_not_a_date_is_refused():
    result = fengqiao("agreement", "verify", SHIPPED, "--on", "01/05/2026")

    _assert_one_line_error(result, "--on '01/05/2026' is not a date (YYYY-MM-DD)")


def test_amend_writes_the_next_version_beside_the_file_and_never_overwrites(tmp_path):
    copy = tmp_path / "dalang-qianfeng.yaml"
    copy.write_text(SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")

    first = fengqiao("agreement", "amend", copy)
    second = fengqiao("agreement", "amend", copy)
    verified = fengqiao("agreement", "verify", tmp_path / "dalang-qianfeng.v2.yaml", "--on", ON)

    assert first.exit_code == 0, first.output
    assert "dalang-qianfeng@2, supersedes version 1" in first.stdout
    _assert_one_line_error(second, f"refusing to overwrite {tmp_path / 'dalang-qianfeng.v2.yaml'}")
    assert verified.exit_code == 1
    assert "  - not signed by dongguan-dalang" in verified.stdout


def test_fengqiao_command_verifies_the_shipped_agreements():
    for path in (SHIPPED, THREE_PARTY):
        done = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "agreement", "verify", str(path), "--on", ON],
            capture_output=True,
            text=True,
            check=False,
            cwd=AGREEMENTS_DIR.parents[1],
        )
        assert done.returncode == 0, done.stderr
        assert " is in force on 2026-05-01" in done.stdout


def test_a_file_that_is_not_a_private_key_is_refused_in_one_line(tmp_path):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key\n", encoding="utf-8")

    result = fengqiao("agreement", "sign", SHIPPED, "--key", garbage, "--party", "dongguan-dalang")

    _assert_one_line_error(result, f"{garbage}: not a PKCS#8 PEM private key")


def test_a_private_key_of_another_algorithm_is_refused_in_one_line(tmp_path):
    sm2 = tmp_path / "sm2.pem"
    sm2.write_text(SM2_KEY_PEM, encoding="utf-8")

    result = fengqiao("agreement", "sign", SHIPPED, "--key", sm2, "--party", "dongguan-dalang")

    _assert_one_line_error(result, f"{sm2} does not hold an Ed25519 signing key")


def test_yaml_whose_alias_holds_itself_is_a_one_line_error(tmp_path):
    looped = tmp_path / "looped.yaml"
    looped.write_text("id: x\nparties: &parties [*parties]\n", encoding="utf-8")

    result = fengqiao("agreement", "verify", looped)

    _assert_one_line_error(result, f"{looped}: not valid YAML: nested too deeply, or an alias")

"""Each doctor check's verdict and the words it says, from values alone (no server, no store)."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from alembic.script import ScriptDirectory
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.doctor.findings import Verdict, healthy
from services.doctor.host import GIB, DiskUsage, check_disk, store_verdict
from services.doctor.region import (
    ApiAnswer,
    domain_verdict,
    link_verdict,
    partner_stream_verdict,
    server_time,
    skew_verdict,
)
from services.doctor.trust import agreements_in_force, check_key_expiry, check_keys
from services.store.database import MIGRATIONS, applied_revisions
from tests.support.live import write_keys
from tests.support.trust import Bureau, FormerKey, agreement_document, flow, sign_document

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MIGRATE = "fengqiao node migrate --config node.toml"


def _pair(**key_overrides: dict[str, str]) -> tuple[Bureau, Bureau]:
    return Bureau("dongguan-dalang", key_overrides=key_overrides), Bureau("guangan-qianfeng")


def _agreement(a: Bureau, b: Bureau, signers: list[Bureau] | None = None):
    document = agreement_document([a, b], [flow("dispute.reported", [a, b])])
    return sign_document(document, [a, b] if signers is None else signers)


def test_an_agreement_signed_by_both_and_effective_is_in_force():
    a, b = _pair()
    in_force, findings = agreements_in_force([_agreement(a, b)], a.id, NOW.date())
    assert len(in_force) == 1
    assert findings[0].verdict is Verdict.OK
    assert "signed by dongguan-dalang, guangan-qianfeng" in findings[0].detail


def test_an_agreement_the_partner_has_not_signed_fails_and_says_who_must_sign():
    a, b = _pair()
    in_force, findings = agreements_in_force([_agreement(a, b, [a])], a.id, NOW.date())
    assert in_force == []
    assert findings[0].verdict is Verdict.FAIL
    assert "not signed by guangan-qianfeng" in findings[0].detail
    assert "each of guangan-qianfeng signs it: `fengqiao agreement sign" in findings[0].fix


def test_an_agreement_past_its_end_fails_and_asks_for_an_amendment():
    a, b = _pair()
    _, findings = agreements_in_force([_agreement(a, b)], a.id, date(2031, 1, 2))
    assert findings[0].verdict is Verdict.FAIL
    assert "ended on 2030-12-31" in findings[0].detail
    assert "fengqiao agreement amend" in findings[0].fix


def test_no_agreement_naming_the_jurisdiction_fails():
    a, b = _pair()
    _, findings = agreements_in_force([_agreement(a, b)], "shenzhen-longgang", NOW.date())
    assert [f.verdict for f in findings] == [Verdict.FAIL]
    assert "no agreement names shenzhen-longgang" in findings[0].detail


def test_keys_listed_in_the_agreement_match(tmp_path: Path):
    a, b = _pair()
    finding = check_keys(write_keys(a, tmp_path), a.id, [_agreement(a, b)], NOW)
    assert finding.verdict is Verdict.OK
    assert a.sig_kid in finding.detail


def test_a_signing_key_file_that_is_not_the_agreements_fails(tmp_path: Path):
    a, b = _pair()
    stranger = Bureau(a.id)
    finding = check_keys(write_keys(stranger, tmp_path), a.id, [_agreement(a, b)], NOW)
    assert finding.verdict is Verdict.FAIL
    assert f"expects signing key {a.sig_kid}, the key file is {stranger.sig_kid}" in finding.detail
    assert f"partners encrypt to {a.enc_kid}" in finding.detail
    assert "fengqiao keys new" in finding.fix


def test_missing_key_files_fail_with_the_command_that_creates_them(tmp_path: Path):
    a, b = _pair()
    finding = check_keys(tmp_path, a.id, [_agreement(a, b)], NOW)
    assert finding.verdict is Verdict.FAIL
    assert f"fengqiao keys new --jurisdiction {a.id} --dir {tmp_path}" in finding.fix


def test_a_key_expiring_within_the_warning_window_warns_with_the_rotation_steps():
    a, b = _pair(sig={"valid_until": "2026-06-20T00:00:00Z"})
    finding = check_key_expiry([_agreement(a, b)], NOW, timedelta(days=30))
    assert finding.verdict is Verdict.WARN
    assert f"{a.sig_kid} in 18 days (2026-06-20" in finding.detail
    assert "Rotate a key" in finding.fix
    assert check_key_expiry([_agreement(a, b)], NOW, timedelta(days=10)).verdict is Verdict.OK


def test_jetstream_in_another_domain_than_the_settings_fails():
    finding = domain_verdict({"domain": "qianfeng"}, "dalang")
    assert finding.verdict is Verdict.FAIL
    assert "domain is qianfeng, the settings say dalang" in finding.detail
    assert domain_verdict({"domain": "dalang"}, "dalang").verdict is Verdict.OK


def test_a_server_without_jetstream_fails_with_how_to_enable_it():
    for answer in (None, {"error": {"code": 503, "description": "jetstream not enabled"}}):
        finding = domain_verdict(answer, "dalang")
        assert finding.verdict is Verdict.FAIL
        assert "jetstream {" in finding.fix


def _timed(server: str, offset_s: float) -> ApiAnswer:
    sent = server_time(server) + timedelta(seconds=offset_s)
    return ApiAnswer({"ts": server}, sent, sent + timedelta(milliseconds=2))


def test_clock_skew_beyond_what_partners_accept_fails():
    finding = skew_verdict(_timed("2026-06-01T12:00:00.123456789Z", -400), 300)
    assert finding.verdict is Verdict.FAIL
    assert "400.0 s behind the NATS server" in finding.detail
    assert "NTP" in finding.fix
    assert skew_verdict(_timed("2026-06-01T12:00:00Z", 45), 300).verdict is Verdict.WARN
    assert skew_verdict(_timed("2026-06-01T12:00:00.5Z", 1), 300).verdict is Verdict.OK


def test_server_times_with_nanoseconds_are_read():
    assert server_time("2026-11-23T12:06:35.571132729Z") == datetime(
        2026, 11, 23, 12, 6, 35, 571132, tzinfo=UTC
    )


def test_a_partner_domain_that_does_not_answer_means_the_link_is_down():
    finding = link_verdict("guangan-qianfeng", "qianfeng", None)
    assert finding.verdict is Verdict.FAIL
    assert "leaf-node link is down" in finding.detail
    assert "leafnodes" in finding.fix
    assert (
        link_verdict("guangan-qianfeng", "qianfeng", {"domain": "qianfeng"}).verdict is Verdict.OK
    )


def test_a_missing_partner_stream_fails_until_the_partner_starts_its_node():
    missing = {"error": {"code": 404, "description": "stream not found"}}
    finding = partner_stream_verdict("guangan-qianfeng", missing)
    assert finding.verdict is Verdict.FAIL
    assert "OUT_guangan-qianfeng is not visible" in finding.detail
    found = partner_stream_verdict("guangan-qianfeng", {"state": {"messages": 7}})
    assert found.verdict is Verdict.OK and "7 messages" in found.detail


def test_a_store_behind_the_code_fails_with_the_migrate_command():
    finding = store_verdict({"0001"}, MIGRATE)
    assert finding.verdict is Verdict.FAIL
    assert "0002" in finding.detail and MIGRATE in finding.fix
    assert store_verdict(set(), MIGRATE).verdict is Verdict.FAIL


def test_a_store_at_every_head_passes_and_one_from_a_newer_version_fails():
    heads = set(ScriptDirectory(str(MIGRATIONS)).get_heads())
    assert applied_revisions(heads) >= {"0001", "0002"}
    assert store_verdict(heads, MIGRATE).verdict is Verdict.OK
    newer = store_verdict(heads | {"9999"}, MIGRATE)
    assert newer.verdict is Verdict.FAIL and "does not know" in newer.detail


def test_free_disk_below_the_minimum_fails_and_just_above_it_warns(tmp_path: Path):
    def usage(free_gib: float):
        return lambda _path: DiskUsage(100 * GIB, 0, int(free_gib * GIB))

    low = check_disk(tmp_path / "not-yet", 2 * GIB, usage(1))
    assert low.verdict is Verdict.FAIL and "1.0 GiB free" in low.detail
    assert str(tmp_path) in low.detail  # measured on the nearest existing directory
    assert check_disk(tmp_path, 2 * GIB, usage(3)).verdict is Verdict.WARN
    assert check_disk(tmp_path, 2 * GIB, usage(50)).verdict is Verdict.OK


def test_a_key_a_rotation_has_already_followed_is_not_to_rotate_again():
    """The old key expires soon, but the amendment listing its successor is in force."""
    a, b = Bureau("dongguan-dalang"), Bureau("guangan-qianfeng")
    soon = {"valid_until": "2026-06-20T00:00:00Z"}
    a.former = [FormerKey(a.sig, soon)]
    a.sig = Ed25519PrivateKey.generate()  # the successor, valid to the agreement's end
    finding = check_key_expiry([_agreement(a, b)], NOW, timedelta(days=30))
    assert finding.verdict is Verdict.OK, finding.detail
    assert a.former_signer().kid not in finding.detail


def test_warnings_do_not_make_a_set_up_unhealthy_failures_do():
    a, b = _pair(sig={"valid_until": "2026-06-20T00:00:00Z"})
    warning = check_key_expiry([_agreement(a, b)], NOW, timedelta(days=30))
    assert healthy([warning])
    assert not healthy([warning, link_verdict("guangan-qianfeng", "qianfeng", None)])

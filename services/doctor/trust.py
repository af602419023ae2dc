"""Keys and agreements: the node holds the private keys the agreement in force names for it, and
that agreement is signed by every party, in force, and not about to lose a key."""

from datetime import date, datetime, timedelta
from pathlib import Path

from contracts.agreement import (
    AgreementBook,
    AgreementFileError,
    LoadedAgreement,
    key_state,
    load_agreement,
)
from services.doctor.findings import Finding, fail, ok, warn
from services.keyring import Keyring, KeysMissing, load_keyring

KEYS = "keys"
AGREEMENT = "agreement"
KEY_EXPIRY = "key expiry"


def read_agreements(paths: list[Path]) -> tuple[list[LoadedAgreement], list[Finding]]:
    """Every agreement file that loads, and a failure for each one that does not."""
    loaded: list[LoadedAgreement] = []
    findings: list[Finding] = []
    for path in paths:
        try:
            loaded.append(load_agreement(path))
        except AgreementFileError as exc:
            findings.append(
                fail(
                    AGREEMENT, f"{path}: {exc}", f"check it with `fengqiao agreement verify {path}`"
                )
            )
    return loaded, findings


def agreements_in_force(
    loaded: list[LoadedAgreement], jurisdiction: str, on: date
) -> tuple[list[LoadedAgreement], list[Finding]]:
    """The agreement in force for each agreement id naming `jurisdiction`, and what is wrong."""
    mine = [item for item in loaded if item.agreement.party(jurisdiction) is not None]
    if not mine:
        return [], [
            fail(
                AGREEMENT,
                f"no agreement names {jurisdiction} as a party",
                "list the signed agreement file under `agreements` in the settings",
            )
        ]
    book = AgreementBook(mine)
    in_force: list[LoadedAgreement] = []
    findings: list[Finding] = []
    for agreement_id in book.ids():
        current = book.in_force(agreement_id, on)
        if current is None:
            newest = book.versions(agreement_id)[max(book.versions(agreement_id))]
            findings.append(_not_in_force(newest, on))
            continue
        in_force.append(current)
        a = current.agreement
        findings.append(
            ok(
                AGREEMENT,
                f"{a.ref} in force: signed by {', '.join(current.signed_by())}; "
                f"effective {a.effective_from} to {a.effective_until}",
            )
        )
    return in_force, findings


def _not_in_force(newest: LoadedAgreement, on: date) -> Finding:
    a = newest.agreement
    problems = newest.problems(on)
    where = newest.path or a.id
    unsigned = [p.id for p in a.parties if p.id not in newest.signed_by()]
    if unsigned:
        fix = (
            f"each of {', '.join(unsigned)} signs it: "
            f"`fengqiao agreement sign {where} --key KEY --party ID`"
        )
    else:
        fix = "an amendment with new dates, signed by every party (`fengqiao agreement amend`)"
    return fail(AGREEMENT, f"{a.ref} is not in force on {on}: {'; '.join(problems)}", fix)


def check_keys(
    directory: Path, jurisdiction: str, agreements: list[LoadedAgreement], at: datetime
) -> Finding:
    """The key directory holds this party's signing key and encryption key as the agreements
    in force list them now."""
    try:
        keyring = load_keyring(directory, jurisdiction)
    except KeysMissing as missing:
        return fail(
            KEYS, f"no keys for {jurisdiction} in {directory}", str(missing).split(": ", 1)[1]
        )
    except (OSError, ValueError, TypeError) as exc:
        return fail(
            KEYS,
            f"cannot read the keys in {directory}: {exc}",
            "restore the key files from the backup",
        )
    problems = [p for a in agreements for p in _key_problems(keyring, jurisdiction, a, at)]
    if problems:
        return fail(
            KEYS,
            "; ".join(problems),
            f"use the key files the agreement lists (keys_dir = {directory}), "
            "or amend the agreement with this node's public keys (`fengqiao keys new` prints them)",
        )
    return ok(
        KEYS,
        f"signing key {keyring.signer.kid} and {len(keyring.encryption)} encryption key(s) match",
    )


def _key_problems(
    keyring: Keyring, jurisdiction: str, loaded: LoadedAgreement, at: datetime
) -> list[str]:
    a = loaded.agreement
    problems = []
    sig = a.current_key(jurisdiction, "sig", at)
    if sig is None:
        problems.append(f"{a.ref} lists no signing key of {jurisdiction} valid now")
    elif sig.kid != keyring.signer.kid:
        problems.append(
            f"{a.ref} expects signing key {sig.kid}, the key file is {keyring.signer.kid}"
        )
    enc = a.current_key(jurisdiction, "enc", at)
    if enc is None:
        problems.append(f"{a.ref} lists no encryption key of {jurisdiction} valid now")
    elif enc.kid not in keyring.encryption:
        problems.append(
            f"{a.ref} has partners encrypt to {enc.kid}, which is not in the key directory"
        )
    return problems


def check_key_expiry(
    agreements: list[LoadedAgreement], at: datetime, warn_within: timedelta
) -> Finding:
    """Days until the first party is left without a key of a use: when the last of its keys
    of that use valid now or later expires (a key a rotation has already followed needs
    nothing more); a warning when that is soon."""
    keys = [
        (a.agreement.ref, p.id, k) for a in agreements for p in a.agreement.parties for k in p.keys
    ]
    if not any(key_state(k, at) == "valid" for _, _, k in keys):
        return fail(KEY_EXPIRY, "no key valid now", "rotate the keys with an amendment")
    last: dict[tuple[str, str, str], tuple[datetime, str]] = {}
    for ref, party, k in keys:
        if key_state(k, at) in ("valid", "not_yet_valid"):
            ends = (k.valid_until, k.kid)
            last[ref, party, k.use] = max(last.get((ref, party, k.use), ends), ends)
    until, kid, ref = min((until, kid, ref) for (ref, _, _), (until, kid) in last.items())
    days = (until - at).days
    detail = f"first to expire: {kid} in {days} days ({until.date()}, {ref})"
    if until - at < warn_within:
        return warn(
            KEY_EXPIRY,
            detail,
            "rotate it now: `fengqiao keys new`, then an amendment adding the new key, "
            "signed by every party (docs/operations.md, Rotate a key)",
        )
    return ok(KEY_EXPIRY, detail)

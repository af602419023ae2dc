"""The cooperation agreement: parties and their keys, cooperation items, permitted flows.

An agreement file is YAML read with the YAML 1.2 core schema (contracts.yaml_core: dates stay
strings). Its canonical form is the RFC 8785 bytes of the whole document except `signatures`;
every party signs those bytes, and the agreement is in force only when every party's signature
verifies. The fields and their rules live in contracts.agreement_model; this module reads, signs
and verifies files.
"""

from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, ValidationError

from contracts.agreement_model import (
    Agreement,
    AgreementInconsistent,
    BatchSigning,
    Category,
    CooperationItem,
    EventType,
    FieldPattern,
    Flow,
    HandlingCode,
    JurisdictionId,
    KeyState,
    Names,
    Party,
    PartySignature,
    PublicKey,
    key_state,
    key_warnings,
    start_of_day,
)
from contracts.canonical import b64decode, b64encode, canonical_bytes
from contracts.keys import public_raw, sign, signature_valid
from contracts.yaml_core import YamlValueError, load_json_yaml

__all__ = [
    "Agreement",
    "AgreementBook",
    "AgreementFileError",
    "AgreementInconsistent",
    "BatchSigning",
    "Category",
    "CooperationItem",
    "EventType",
    "FieldPattern",
    "Flow",
    "HandlingCode",
    "InvalidAgreement",
    "JurisdictionId",
    "KeyState",
    "LoadedAgreement",
    "Names",
    "Party",
    "PartySignature",
    "PublicKey",
    "SigningRefused",
    "key_state",
    "key_warnings",
    "load_agreement",
    "parse_agreement",
    "parse_document",
    "sign_agreement",
    "signing_bytes",
    "start_of_day",
]


class AgreementFileError(ValueError):
    """An agreement file that cannot be read or does not describe a valid agreement."""


class InvalidAgreement(AgreementFileError):
    """A well-formed document whose fields are wrong; `problems` lists each field in error."""

    def __init__(self, where: str, problems: list[str]) -> None:
        super().__init__(f"{where}invalid agreement: {'; '.join(problems)}")
        self.where = where
        self.problems = problems


class SigningRefused(ValueError):
    """A signature that must not be added: the key is not a current signing key of the party."""


def parse_document(text: str) -> dict[str, Any]:
    """The agreement document as plain JSON values (YAML 1.2 core schema: dates stay strings)."""
    try:
        doc = load_json_yaml(text)
    except YamlValueError as exc:
        raise AgreementFileError(str(exc)) from exc
    if not isinstance(doc, dict):
        raise AgreementFileError("an agreement file must hold a mapping at its top level")
    return doc


def signing_bytes(document: dict[str, Any]) -> bytes:
    """The bytes each party signs: RFC 8785 of the document without `signatures`."""
    return canonical_bytes({k: v for k, v in document.items() if k != "signatures"})


class LoadedAgreement(BaseModel):
    """An agreement with the document it was read from (the signed bytes come from the document)."""

    model_config = ConfigDict(frozen=True)

    agreement: Agreement
    document: dict[str, Any]
    path: Path | None = None

    def signing_bytes(self) -> bytes:
        return signing_bytes(self.document)

    def signature_problems(self) -> list[str]:
        """Every reason the agreement is not signed by all its parties; empty when it is."""
        return list(self._signature_problems)

    @cached_property
    def _signature_problems(self) -> tuple[str, ...]:
        # An agreement never changes once loaded: its signatures are checked once, not per event.
        message = self.signing_bytes()
        good: set[str] = set()
        problems: list[str] = []
        for sig in self.agreement.signatures:
            problem = self.signature_problem(sig, message)
            if problem is None:
                good.add(sig.party)
            else:
                problems.append(f"signature of {sig.party}: {problem}")
        problems += [f"not signed by {p.id}" for p in self.agreement.parties if p.id not in good]
        return tuple(problems)

    def signature_problem(self, sig: PartySignature, message: bytes | None = None) -> str | None:
        """Why `sig` does not count, or None when it does (`message`: the signing bytes, cached)."""
        message = self.signing_bytes() if message is None else message
        found = self.agreement.key(sig.kid)
        if found is None or found[0].id != sig.party or found[1].use != "sig":
            return f"{sig.kid} is not its signing key"
        if found[1].revoked_at is not None:
            return f"key {sig.kid} is revoked"
        if not signature_valid(found[1].raw, _b64_or_empty(sig.signature), message):
            return "does not verify"
        return None

    def signed_by(self) -> list[str]:
        """The parties whose signature verifies."""
        message = self.signing_bytes()
        return sorted(
            {
                s.party
                for s in self.agreement.signatures
                if self.signature_problem(s, message) is None
            }
        )

    def problems(self, on: date) -> list[str]:
        """Every reason the agreement is not in force on day `on`; empty when it is."""
        a = self.agreement
        dates: list[str] = []
        if on < a.effective_from:
            dates.append(f"not yet effective on {on}: takes effect on {a.effective_from}")
        if on > a.effective_until:
            dates.append(f"no longer effective on {on}: ended on {a.effective_until}")
        return self.signature_problems() + dates

    def in_force(self, on: date) -> bool:
        """Signed by every party and effective on day `on`."""
        return not self.problems(on)


def _b64_or_empty(text: str) -> bytes:
    try:
        return b64decode(text)
    except ValueError:
        return b""


def sign_agreement(
    loaded: LoadedAgreement, party: str, key: Ed25519PrivateKey
) -> list[PartySignature]:
    """The agreement's signatures with `party`'s signature by `key`, replacing its earlier one."""
    a = loaded.agreement
    if a.party(party) is None:
        raise SigningRefused(f"{party} is not a party to {a.ref}")
    raw = public_raw(key)
    listed = next((k for p in a.parties for k in p.keys if k.use == "sig" and k.raw == raw), None)
    if listed is None:
        raise SigningRefused(f"this key is not listed in {a.ref}: paste its entry under {party}")
    owner = a.key(listed.kid)
    if owner is None or owner[0].id != party:
        raise SigningRefused(f"key {listed.kid} belongs to another party, not to {party}")
    if listed.revoked_at is not None:
        raise SigningRefused(f"key {listed.kid} is revoked in {a.ref}")
    signature = b64encode(sign(key, loaded.signing_bytes()))
    mine = PartySignature(party=party, kid=listed.kid, signature=signature)
    return [s for s in a.signatures if s.party != party] + [mine]


def load_agreement(path: Path) -> LoadedAgreement:
    """Read and validate an agreement file; raises AgreementFileError with every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AgreementFileError(f"{path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise AgreementFileError(f"{path}: not UTF-8 text") from exc
    return parse_agreement(text, path)


def parse_agreement(text: str, path: Path | None = None) -> LoadedAgreement:
    """Validate agreement text; raises InvalidAgreement listing every field in error."""
    where = f"{path}: " if path else ""
    try:
        document = parse_document(text)
    except AgreementFileError as exc:
        raise AgreementFileError(f"{where}{exc}") from exc
    try:
        agreement = Agreement.model_validate(document)
    except ValidationError as exc:
        raise InvalidAgreement(where, _field_problems(exc)) from exc
    return LoadedAgreement(agreement=agreement, document=document, path=path)


def _field_problems(exc: ValidationError) -> list[str]:
    problems: list[str] = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(top)"
        cause = e.get("ctx", {}).get("error")
        if isinstance(cause, AgreementInconsistent):
            problems += [f"{where}: {p}" for p in cause.problems]
        else:
            problems.append(f"{where}: {e['msg']}")
    return problems


def signed_only_with_new_keys(amendment: LoadedAgreement, superseded: Agreement) -> list[str]:
    """The parties whose signature on `amendment` verifies only with a key that the version it
    supersedes does not list for them. Whoever drafts an amendment can list a key under any
    party's name, so such a signature is that party's only once they confirm the key out of
    band (a revocation is signed so, with the new key: docs/agreement.md, Amend)."""
    message = amendment.signing_bytes()
    listed = {p.id: {k.kid for k in p.keys} for p in superseded.parties}
    by_old_key: dict[str, bool] = {}
    for sig in amendment.agreement.signatures:
        if amendment.signature_problem(sig, message) is None:
            old = sig.kid in listed.get(sig.party, set())
            by_old_key[sig.party] = by_old_key.get(sig.party, False) or old
    return sorted(party for party, old in by_old_key.items() if not old)


class AgreementBook:
    """Every version of every agreement a node knows; the one in force decides."""

    def __init__(self, loaded: list[LoadedAgreement]) -> None:
        self._versions: dict[str, dict[int, LoadedAgreement]] = {}
        for item in loaded:
            a = item.agreement
            self._versions.setdefault(a.id, {})[a.version] = item
        # The book never changes once made: which version is in force on a day is worked out
        # once (every received envelope asks), for the agreements it knows.
        self._in_force: dict[tuple[str, date], LoadedAgreement | None] = {}

    @classmethod
    def from_paths(cls, paths: list[Path]) -> "AgreementBook":
        return cls([load_agreement(p) for p in paths])

    @classmethod
    def from_directory(cls, directory: Path) -> "AgreementBook":
        """Every `*.yaml` agreement file in `directory` (amendments sit beside the original)."""
        return cls.from_paths(sorted(directory.glob("*.yaml")))

    def ids(self) -> list[str]:
        return sorted(self._versions)

    def versions(self, agreement_id: str) -> dict[int, LoadedAgreement]:
        return dict(self._versions.get(agreement_id, {}))

    def knows(self, agreement_id: str) -> bool:
        """Whether some version of `agreement_id` is in the book."""
        return agreement_id in self._versions

    def in_force_during(self, agreement_id: str, first: date, last: date) -> LoadedAgreement | None:
        """The highest version of `agreement_id` signed by all and effective on some day from
        `first` to `last` (none when `last` is before `first`)."""
        versions = self._versions.get(agreement_id, {}) if first <= last else {}
        return next(
            (
                versions[v]
                for v in sorted(versions, reverse=True)
                if not versions[v].signature_problems()
                and versions[v].agreement.effective_from <= last
                and versions[v].agreement.effective_until >= first
            ),
            None,
        )

    def in_force(self, agreement_id: str, on: date) -> LoadedAgreement | None:
        """The highest version of `agreement_id` signed by all and effective on `on`."""
        versions = self._versions.get(agreement_id)
        if versions is None:
            return None
        if (agreement_id, on) not in self._in_force:
            self._in_force[agreement_id, on] = next(
                (versions[v] for v in sorted(versions, reverse=True) if versions[v].in_force(on)),
                None,
            )
        return self._in_force[agreement_id, on]

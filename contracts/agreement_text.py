"""Edits to an agreement file that keep what people wrote: comments, order, layout.

Signing rewrites only the top-level `signatures:` block; an amendment changes only `version`,
`supersedes` and that block. Each edit is checked by parsing the result: the signed part of a
signature edit must be byte for byte what it was.
"""

import json
import os
import re
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.agreement import (
    AgreementFileError,
    LoadedAgreement,
    PartySignature,
    load_agreement,
    parse_agreement,
    parse_document,
    sign_agreement,
    signing_bytes,
)

_TOP_LEVEL_KEY = re.compile(r"^[A-Za-z_][\w-]*\s*:")
_SIGNATURES = re.compile(r"^signatures\s*:")
_FILLER = re.compile(r"^\s*(#.*)?$")
_VERSIONED_NAME = re.compile(r"\.v\d+$")


def render_signatures(signatures: list[PartySignature]) -> list[str]:
    """The `signatures:` block as YAML lines (values JSON-quoted, which YAML reads as-is)."""
    if not signatures:
        return ["signatures: []"]
    lines = ["signatures:"]
    for s in signatures:
        lines += [
            f"  - party: {json.dumps(s.party)}",
            f"    kid: {json.dumps(s.kid)}",
            f"    signature: {json.dumps(s.signature)}",
        ]
    return lines


def _signatures_span(lines: list[str]) -> tuple[int, int]:
    """Line range [start, end) of the top-level `signatures:` block, (len, len) when absent."""
    start = next((i for i, line in enumerate(lines) if _SIGNATURES.match(line)), len(lines))
    if start == len(lines):
        return start, start
    end = next(
        (i for i in range(start + 1, len(lines)) if _TOP_LEVEL_KEY.match(lines[i])), len(lines)
    )
    # Comments and blank lines after the last signature belong to what follows (or the end).
    while end > start + 1 and _FILLER.match(lines[end - 1]):
        end -= 1
    return start, end


def write_signatures(text: str, signatures: list[PartySignature]) -> str:
    """`text` with its `signatures:` block replaced (or appended); everything else kept."""
    lines = text.splitlines()
    start, end = _signatures_span(lines)
    if start == len(lines):  # no block yet: append one after a blank line
        while lines and not lines[-1].strip():
            lines.pop()
        head, tail = [*lines, ""], []
    else:
        head, tail = lines[:start], lines[end:]
    result = "\n".join(head + render_signatures(signatures) + tail) + "\n"
    _check_signed_part_unchanged(text, result, signatures)
    return result


def _check_signed_part_unchanged(before: str, after: str, signatures: list[PartySignature]) -> None:
    old, new = parse_document(before), parse_document(after)
    wanted = [s.model_dump() for s in signatures]
    if signing_bytes(old) != signing_bytes(new) or new.get("signatures") != wanted:
        raise AgreementFileError(
            "the signatures block could not be rewritten without touching the signed part; "
            "keep `signatures:` as a top-level key with nothing but signatures under it"
        )


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` so that a crash leaves the old or the new file, never half."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def sign_file(path: Path, party: str, key: Ed25519PrivateKey) -> LoadedAgreement:
    """Add `party`'s signature by `key` to the agreement file at `path`; returns the result."""
    loaded = load_agreement(path)
    text = path.read_text(encoding="utf-8")
    signed = write_signatures(text, sign_agreement(loaded, party, key))
    write_atomically(path, signed)
    return parse_agreement(signed, path)


def amendment_text(text: str) -> str:
    """The next version of an agreement: `version` + 1, `supersedes` the old one, unsigned.

    Keys, flows and items are then edited by hand; every party signs the new version again.
    """
    old = parse_agreement(text).agreement
    lines = text.splitlines()
    at = _top_level_line(lines, "version")
    if at is None:
        raise AgreementFileError("no top-level `version:` line to amend")
    lines[at] = _with_value(lines[at], "version", old.version + 1)
    previous = _top_level_line(lines, "supersedes")
    if previous is None:
        lines.insert(at + 1, f"supersedes: {old.version}")
    else:
        lines[previous] = _with_value(lines[previous], "supersedes", old.version)
    amended = write_signatures("\n".join(lines) + "\n", [])
    new = parse_agreement(amended).agreement
    if (new.version, new.supersedes) != (old.version + 1, old.version):
        raise AgreementFileError("could not set version and supersedes: keep them on one line")
    return amended


def _top_level_line(lines: list[str], key: str) -> int | None:
    pattern = re.compile(rf"^{key}\s*:")
    return next((i for i, line in enumerate(lines) if pattern.match(line)), None)


def _with_value(line: str, key: str, value: int) -> str:
    """`key: <value>`, keeping a trailing comment."""
    comment = re.search(r"\s#.*$", line)
    return f"{key}: {value}" + (f"  {comment.group().strip()}" if comment else "")


def amendment_path(path: Path, version: int) -> Path:
    """`x.yaml` or `x.v2.yaml` -> `x.v<version>.yaml`, beside the original."""
    stem = _VERSIONED_NAME.sub("", path.stem)
    return path.with_name(f"{stem}.v{version}{path.suffix}")

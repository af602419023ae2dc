"""Sign and verify throughput for a typical dispute.reported envelope, on one core.

    .venv/bin/python scripts/measure_signing.py [--seconds 1.0] [--json]

Measures, each for about `--seconds`: Ed25519 sign and verify of the envelope's signed bytes;
canonicalisation; compose (seal the personal fields to the recipient, canonicalise, sign) and
verify end to end (every check of docs/protocol.md §11, personal fields opened, schema checked);
and the same for envelopes composed in batches of 64 and signed together (§6.1, §8.2).
The parties and their agreement are the test ones of tests/support (fresh keys, no I/O).
"""

import argparse
import itertools
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contracts.canonical import b64decode, canonical_bytes
from contracts.keys import sign, signature_valid
from services.bus.envelope import signing_bytes
from tests.support.envelopes import ARRIVAL, Exchange
from tests.support.trust import NOW


def rate(work: Callable[[], object], seconds: float) -> float:
    """Calls per second of `work`, run back to back for about `seconds` after a warm-up."""
    for _ in range(50):
        work()
    calls, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            work()
        calls += 100
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - start)


def measure(seconds: float) -> dict[str, float]:
    """Events per second for each step, on the calling thread."""
    exchange = Exchange()
    envelope = exchange.envelope()
    message = signing_bytes(envelope.document())
    signature = b64decode(envelope.signature)
    public = exchange.loaded.agreement.key(envelope.kid)[1].raw  # type: ignore[index]
    verifier = exchange.verifier()
    wire = envelope.wire_bytes()
    return {
        "envelope_bytes": float(len(wire)),
        "ed25519_sign_per_s": rate(lambda: sign(exchange.dalang.sig, message), seconds),
        "ed25519_verify_per_s": rate(lambda: signature_valid(public, signature, message), seconds),
        "canonicalise_per_s": rate(lambda: canonical_bytes(envelope.document()), seconds),
        "compose_per_s": rate(exchange.envelope, seconds),
        "verify_end_to_end_per_s": rate(lambda: verifier.verify(wire, ARRIVAL), seconds),
        "compose_and_verify_per_s": rate(
            lambda: verifier.verify(exchange.envelope(now=NOW).wire_bytes(), ARRIVAL), seconds
        ),
    } | measure_batches(seconds)


BATCH = 64


def measure_batches(seconds: float) -> dict[str, float]:
    """Events per second composing batches of BATCH (one sealing key, one signature over their
    Merkle root, as one enqueue_many composes them) and verifying their envelopes in turn."""
    exchange = Exchange(batch_signing=BATCH)
    wires = itertools.cycle([e.wire_bytes() for _ in range(20) for e in exchange.batch(BATCH)])
    verifier = exchange.verifier()
    return {
        "compose_in_batches_per_s": BATCH * rate(lambda: exchange.batch(BATCH), seconds / BATCH),
        "verify_batch_signed_per_s": rate(lambda: verifier.verify(next(wires), ARRIVAL), seconds),
    }


def main() -> None:
    """Print the figures (a table, or JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    figures = measure(args.seconds)
    if args.json:
        print(json.dumps(figures | {"python": platform.python_version()}, indent=2))
        return
    print(f"dispute.reported envelope, {figures.pop('envelope_bytes'):.0f} bytes on the wire")
    print(f"one core, Python {platform.python_version()}, {platform.machine()}")
    for name, value in figures.items():
        print(f"  {name.removesuffix('_per_s').replace('_', ' '):<22} {value:>10,.0f} events/s")


if __name__ == "__main__":
    main()

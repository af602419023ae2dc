"""Checking a batch in worker processes gives what checking it on the event loop gives."""

import json
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

from services.bus.envelope import GENESIS, Envelope
from services.bus.verification import Checked
from services.bus.verification_pool import VerificationPool, default_workers
from tests.support.envelopes import ARRIVAL, Exchange, resign


def _outcome(checked: Checked) -> tuple[object, ...]:
    envelope = checked.envelope
    return (
        envelope.wire_bytes() if envelope else None,
        checked.agreement,
        checked.data,
        type(checked.rejected).__name__,
        str(checked.rejected),
        type(checked.refused).__name__,
        str(checked.refused),
    )


def _batch(exchange: Exchange) -> list[bytes]:
    raws, prev = [], GENESIS
    for seq in range(1, 7):
        envelope = exchange.envelope(seq=seq, prev=prev)
        prev = envelope.chain_hash()
        raws.append(envelope.wire_bytes())
    tampered = raws[2].replace(b'"risk":"medium"', b'"risk":"high"')
    wrong_way = exchange.envelope(reverse=True).wire_bytes()
    # Authentic, but sealed to a key this node does not hold: refused at admission (stage 2).
    unopenable = resign(
        exchange.envelope(seq=9), exchange.dalang.sig, pdkid="guangan-qianfeng/enc/0"
    )
    return [*raws, tampered, b"not json", wrong_way, unopenable]


async def test_workers_check_a_batch_in_order_exactly_as_the_event_loop_does() -> None:
    exchange = Exchange()
    raws = _batch(exchange)
    verifier = exchange.verifier()
    pool = VerificationPool(verifier, workers=2, inline_below=1)
    try:
        assert await pool.ready()
        pooled = await pool.check_many(raws, ARRIVAL)
    finally:
        pool.close()
    inline = [verifier.check(raw, ARRIVAL) for raw in raws]
    assert [_outcome(c) for c in pooled] == [_outcome(c) for c in inline]
    reasons = [(c.rejected or c.refused).reason for c in pooled if c.rejected or c.refused]
    assert reasons == ["bad_signature", "malformed", "wrong_recipient", "decryption_failed"]
    assert pooled[-1].envelope is not None and pooled[-1].rejected is None


async def test_a_worker_that_dies_is_replaced_and_its_batch_checked_all_the_same() -> None:
    exchange = Exchange()
    raws = _batch(exchange)
    verifier = exchange.verifier()
    inline = [_outcome(verifier.check(raw, ARRIVAL)) for raw in raws]
    pool = VerificationPool(verifier, workers=2, inline_below=1)
    try:
        assert await pool.ready()
        assert pool._executor is not None
        os.kill(next(iter(pool._executor._processes)), signal.SIGKILL)  # out of memory, say
        after_the_death = await pool.check_many(raws, ARRIVAL)
        assert await pool.ready()  # started again
        with_new_workers = await pool.check_many(raws, ARRIVAL)
    finally:
        pool.close()
    assert [_outcome(c) for c in after_the_death] == inline
    assert [_outcome(c) for c in with_new_workers] == inline


def test_a_worker_starts_without_importing_the_nodes_main_module(tmp_path: Path) -> None:
    """spawn imports the parent's main module in a new process first; a node's is the CLI,
    with the API and the console, which a worker does not need. Run as `fengqiao` runs."""
    script = tmp_path / "node_main.py"
    script.write_text(NODE_MAIN)
    ran = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == {"cli_in_node": True, "cli_in_worker": False, "checked": True}


ROOT = Path(__file__).resolve().parents[2]
NODE_MAIN = f"""
import asyncio, json, sys
sys.path.insert(0, {str(ROOT)!r})
import gateway.cli
from services.bus.verification_pool import VerificationPool
from tests.support.envelopes import ARRIVAL, Exchange
from tests.support.imported import imported

async def main():
    exchange = Exchange()
    pool = VerificationPool(exchange.verifier(), workers=1, inline_below=1)
    try:
        ready = await pool.ready()
        in_worker = await asyncio.wrap_future(pool._executor.submit(imported, "gateway.cli"))
        [checked] = await pool.check_many([exchange.envelope().wire_bytes()], ARRIVAL)
    finally:
        pool.close()
    print(json.dumps({{
        "cli_in_node": "gateway.cli" in sys.modules,
        "cli_in_worker": in_worker,
        "checked": ready and checked.rejected is None and checked.refused is None,
    }}))

if __name__ == "__main__":
    asyncio.run(main())
"""


async def test_small_batches_are_checked_without_starting_workers() -> None:
    exchange = Exchange()
    pool = VerificationPool(exchange.verifier(), workers=2, inline_below=32)
    checked = await pool.check_many([exchange.envelope().wire_bytes()], ARRIVAL)
    assert checked[0].data is not None
    assert pool._executor is None


async def test_batches_are_checked_on_the_event_loop_until_the_workers_are_up() -> None:
    exchange = Exchange()
    pool = VerificationPool(exchange.verifier(), workers=2, inline_below=1)
    try:
        [first] = await pool.check_many([exchange.envelope().wire_bytes()], ARRIVAL)
        assert first.data is not None and pool._executor is not None
        assert await pool.ready()
    finally:
        pool.close()


def test_workers_default_to_one_per_cpu_but_one_and_none_below_three_cpus() -> None:
    assert [default_workers(cpus) for cpus in (1, 2, 3, 8)] == [0, 1, 2, 7]


def test_a_checked_envelope_comes_back_from_a_pickle_whole_without_being_read_again() -> None:
    exchange = Exchange(batch_signing=8)
    [signed, *_] = exchange.batch(3)
    checked = exchange.verifier().check(signed.wire_bytes(), ARRIVAL)
    assert checked.envelope is not None
    back = pickle.loads(pickle.dumps(checked))
    envelope = back.envelope
    # Its wire bytes, chain hash and document travel; the leaf hash is worked out if asked.
    assert {"_document", "_wire", "_chain_hash"} <= set(vars(envelope))
    assert "_leaf_hash" not in vars(envelope)
    assert envelope == checked.envelope and back.data == checked.data
    assert envelope.model_fields_set == checked.envelope.model_fields_set
    assert envelope.document() == signed.document()
    assert envelope.wire_bytes() == signed.wire_bytes()
    assert envelope.chain_hash() == signed.chain_hash()
    assert envelope.signature_message() == signed.signature_message()


def test_an_unpickled_envelope_is_what_model_construct_builds() -> None:
    exchange = Exchange()
    alone, batched = exchange.envelope(), Exchange(batch_signing=8).batch(2)[0]
    for envelope in (alone, batched):  # without a proof, and with one
        back = pickle.loads(pickle.dumps(envelope))
        built = Envelope.model_construct(**envelope.document())
        fields = set(Envelope.model_fields)
        assert {k: v for k, v in vars(back).items() if k in fields} == {
            k: v for k, v in vars(built).items() if k in fields
        }
        assert back.model_fields_set == built.model_fields_set
        assert back.model_extra is None and back.__pydantic_private__ is None
        assert back.proof == envelope.proof and back.causation == envelope.causation


def test_an_envelope_with_numbers_beyond_plain_json_comes_back_from_a_pickle_the_same() -> None:
    exchange = Exchange()
    data = {"ratio": 1.5, "large": 2.0**60, "huge": 1e21, "small": 1e-7, "name": "Lao Huang"}
    raw = resign(exchange.envelope(), exchange.dalang.sig, data=data)
    envelope = Envelope.from_wire(raw)
    back = pickle.loads(pickle.dumps(envelope))
    assert back == envelope and back.data == envelope.data
    assert [type(v) for v in back.data.values()] == [type(v) for v in envelope.data.values()]
    assert back.wire_bytes() == raw and back.chain_hash() == envelope.chain_hash()

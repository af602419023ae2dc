"""Stage 1, place in the stream: seq is gap-free per sender -> recipient; `prev` chains hashes."""

import pytest

from contracts import errors
from contracts.canonical import canonical_bytes, sha256_hex
from services.bus.envelope import GENESIS, signing_bytes
from services.bus.verification import StreamPosition, check_position
from tests.support.envelopes import Exchange


@pytest.fixture(scope="module")
def exchange() -> Exchange:
    return Exchange()


def test_second_envelope_chains_to_the_first(exchange: Exchange) -> None:
    first = exchange.envelope(seq=1, prev=GENESIS)
    second = exchange.envelope(seq=2, prev=first.chain_hash())
    after_first = StreamPosition(
        seq=1, head=exchange.verify(first.wire_bytes()).envelope.chain_hash()
    )
    assert exchange.verify(second.wire_bytes(), position=after_first).envelope.seq == 2


def test_first_envelope_of_a_stream_carries_the_genesis_hash(exchange: Exchange) -> None:
    assert GENESIS == "0" * 64
    with pytest.raises(errors.ChainBreak):
        exchange.verify(exchange.envelope(prev="1" * 64).wire_bytes(), position=StreamPosition())


@pytest.mark.parametrize("seq", [1, 2])
def test_envelope_at_or_below_the_applied_seq_is_a_replay(exchange: Exchange, seq: int) -> None:
    position = StreamPosition(seq=2, head="a" * 64)
    with pytest.raises(errors.ReplayedEnvelope):
        exchange.verify(exchange.envelope(seq=seq).wire_bytes(), position=position)


def test_envelope_whose_prev_is_not_the_chain_head_breaks_the_chain(exchange: Exchange) -> None:
    first = exchange.envelope(seq=1)
    forked = exchange.envelope(seq=2, prev=exchange.envelope(seq=1).chain_hash())
    with pytest.raises(errors.ChainBreak):
        exchange.verify(forked.wire_bytes(), position=StreamPosition(1, first.chain_hash()))


def test_envelope_beyond_the_next_seq_reports_the_missing_range(exchange: Exchange) -> None:
    with pytest.raises(errors.SequenceGap) as caught:
        exchange.verify(exchange.envelope(seq=5).wire_bytes(), position=StreamPosition(1, "a" * 64))
    assert (caught.value.expected, caught.value.got) == (2, 5)
    assert not isinstance(caught.value, errors.EnvelopeRejected)


def test_gap_is_reported_before_the_chain_is_compared(exchange: Exchange) -> None:
    envelope = exchange.envelope(seq=3, prev="b" * 64)
    with pytest.raises(errors.SequenceGap):
        check_position(envelope, StreamPosition(1, "a" * 64))


def test_chain_hash_is_sha256_of_the_canonical_bytes_with_the_signature(
    exchange: Exchange,
) -> None:
    envelope = exchange.envelope()
    assert envelope.chain_hash() == sha256_hex(canonical_bytes(envelope.document()))
    assert envelope.chain_hash() != sha256_hex(signing_bytes(envelope.document()))
    assert b'"signature":"' in envelope.wire_bytes()


def test_position_is_only_checked_when_one_is_given(exchange: Exchange) -> None:
    assert exchange.verify(exchange.envelope(seq=7, prev="c" * 64).wire_bytes()).envelope.seq == 7

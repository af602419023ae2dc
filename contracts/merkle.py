"""Batch signatures: one Ed25519 signature over the Merkle root of a batch of envelopes.

The tree is RFC 9162's (Certificate Transparency 2.0, section 2.1): leaf hash = SHA-256(0x00 ||
leaf), inner node = SHA-256(0x01 || left || right), a batch of n split at the largest power of
two below n. Each envelope carries its leaf's inclusion path; docs/protocol.md section 6.1.
"""

import hashlib

BATCH_CONTEXT = b"fengqiao batch v1\x00"
"""Prefix of the signed batch message (an envelope's own signed bytes begin with `{`)."""
MAX_BATCH = 1024


class BadProof(ValueError):
    """An inclusion path that does not fit its leaf index and batch size."""


def leaf_hash(*leaf: bytes | memoryview) -> bytes:
    """SHA-256(0x00 || leaf): the hash of one envelope's signed bytes in the tree (given whole
    or in consecutive parts)."""
    hashed = hashlib.sha256(b"\x00")
    for part in leaf:
        hashed.update(part)
    return hashed.digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: list[bytes]) -> bytes:
    """The Merkle tree hash of a batch of leaf hashes (RFC 9162 MTH, leaves already hashed)."""
    return tree(leaves)[0]


def inclusion_path(leaves: list[bytes], index: int) -> list[bytes]:
    """The audit path of leaf `index` (RFC 9162 PATH), nearest sibling first."""
    return tree(leaves)[1][index]


def tree(leaves: list[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The root of a batch and every leaf's audit path, each subtree hashed once: a subtree's
    root is the sibling of everything in the other half of its parent, so it is appended to
    those paths as the recursion comes back up (deepest first, as a path lists them)."""
    if not leaves:
        raise ValueError("a batch has at least one envelope")
    paths: list[list[bytes]] = [[] for _ in leaves]

    def subtree(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return leaves[lo]
        k = lo + _split(hi - lo)
        left, right = subtree(lo, k), subtree(k, hi)
        for index in range(lo, k):
            paths[index].append(right)
        for index in range(k, hi):
            paths[index].append(left)
        return _node(left, right)

    return subtree(0, len(leaves)), paths


def root_from_path(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes:
    """The root that `path` leads to from leaf hash `leaf` (RFC 9162 section 2.1.3.2).

    Raises BadProof when the path is not one of a leaf `index` in a batch of `size`.
    """
    if not 0 <= index < size <= MAX_BATCH:
        raise BadProof(f"leaf {index} of a batch of {size}")
    fn, sn, hashed = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            raise BadProof("the path is longer than the batch is deep")
        if fn & 1 or fn == sn:
            hashed = _node(sibling, hashed)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            hashed = _node(hashed, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise BadProof("the path is shorter than the batch is deep")
    return hashed


def batch_message(size: int, batch_root: bytes) -> bytes:
    """What the batch's Ed25519 signature covers: context, size (4 bytes big-endian), root."""
    return BATCH_CONTEXT + size.to_bytes(4, "big") + batch_root

"""Checking a fetched batch of envelopes in worker processes, off the event loop.

The checks that do not depend on a stream position (parsing, agreement, signature, personal
fields, contract) are pure over bytes, so the batch is cut into one contiguous run per worker and
checked in parallel; the results come back in order, and the inbox then places them in their
streams one by one, on the event loop, exactly as if it had checked them itself.
"""

import asyncio
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from services.bus.verification import Checked, Verifier

INLINE_BELOW = 32
"""Smaller batches are checked on the event loop: a round trip to the workers costs more."""

_RAW_PRIVATE = (
    serialization.Encoding.Raw,
    serialization.PrivateFormat.Raw,
    serialization.NoEncryption(),
)
_worker_verifier: list[Verifier] = []  # set once in each worker process by _start_worker


def default_workers() -> int:
    """One worker per CPU the node may use; none (check inline) on a single CPU."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cpus if cpus and cpus > 1 else 0


@dataclass
class VerificationPool:
    """Checks batches with `verifier` in `workers` processes, started on first need."""

    verifier: Verifier
    workers: int
    inline_below: int = INLINE_BELOW
    _executor: ProcessPoolExecutor | None = None

    async def check_many(self, raws: Sequence[bytes], now: datetime) -> list[Checked]:
        """Verifier.check of each of `raws`, in order."""
        if self.workers < 1 or len(raws) < self.inline_below:
            return [self.verifier.check(raw, now) for raw in raws]
        executor = self._started()
        size = -(-len(raws) // self.workers)
        runs = [list(raws[i : i + size]) for i in range(0, len(raws), size)]
        loop = asyncio.get_running_loop()
        results = await asyncio.gather(
            *(loop.run_in_executor(executor, _check_run, run, now) for run in runs)
        )
        return [checked for run in results for checked in run]

    def start(self) -> None:
        """Start the workers now, in the background, rather than on the first large batch."""
        if self.workers >= 1:
            executor = self._started()
            for _ in range(self.workers):
                executor.submit(_check_run, [], None)

    def close(self) -> None:
        """Stop the workers (a batch being checked is finished first)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def _started(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # spawn, not fork: the node has threads (the store's) that a fork would copy mid-step
            self._executor = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(_portable(self.verifier),),
            )
        return self._executor


def _portable(verifier: Verifier) -> tuple[Verifier, dict[str, bytes]]:
    """The verifier without its private key objects (not picklable) and those keys' raw bytes."""
    keys = {kid: key.private_bytes(*_RAW_PRIVATE) for kid, key in verifier.encryption_keys.items()}
    return replace(verifier, encryption_keys={}), keys


def _start_worker(portable: tuple[Verifier, dict[str, bytes]]) -> None:
    verifier, keys = portable
    own = {kid: X25519PrivateKey.from_private_bytes(raw) for kid, raw in keys.items()}
    _worker_verifier[:] = [replace(verifier, encryption_keys=own)]


def _check_run(raws: list[bytes], now: datetime | None) -> list[Checked]:
    [verifier] = _worker_verifier
    return [verifier.check(raw, now) for raw in raws] if now is not None else []

"""The cyclic garbage collector, set for a long-running node process.

With the interpreter's defaults a node receiving a backlog spent about 60 µs of every event's
CPU in the collector (make bench, 30,000 events): each batch in flight holds tens of thousands
of objects (envelopes, events, rows), so a collection every 700 net allocations walked them again
and again, and every full collection walked all that startup loaded as well.
"""

import gc

YOUNG_THRESHOLD = 20_000
"""Net allocations of container objects between two collections of the youngest generation."""


def settle_collector() -> None:
    """Once the node is started: what startup loaded (modules, agreements, contracts, keys)
    is left out of every later collection, and the youngest generation is collected after
    YOUNG_THRESHOLD net allocations. Cycles are still collected, only less often; objects
    freed by their reference counts, as nearly all are, go at once as before."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)

"""A settled node process collects its youngest objects less often, still collects cycles,
and leaves what startup loaded out of every collection (each case in a process of its own, so
that the test process keeps the interpreter's defaults)."""

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_what_startup_loaded_is_frozen_and_young_objects_wait_for_the_threshold() -> None:
    out = _run(
        """
        import gc
        from services.collector import YOUNG_THRESHOLD, settle_collector
        before = gc.get_threshold()[0], gc.get_freeze_count()
        settle_collector()
        print(*before, gc.get_threshold()[0] == YOUNG_THRESHOLD, gc.get_freeze_count() > 1_000)
        """
    )
    assert out == "700 0 True True"


def test_a_cycle_made_after_settling_is_still_collected() -> None:
    out = _run(
        """
        import gc, weakref
        from services.collector import YOUNG_THRESHOLD, settle_collector
        settle_collector()

        class Node:
            pass

        cycle = Node()
        cycle.me = cycle
        gone = []
        weakref.finalize(cycle, gone.append, "collected")
        del cycle
        kept = [[] for _ in range(YOUNG_THRESHOLD // 2)]
        print(gone)
        kept += [[] for _ in range(YOUNG_THRESHOLD)]
        print(gone)
        """
    )
    assert out.splitlines() == ["[]", "['collected']"]

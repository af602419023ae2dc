"""Run in a worker process by a test: what that process has imported."""

import sys


def imported(name: str) -> bool:
    """Whether module `name` is loaded in the process running this."""
    return name in sys.modules

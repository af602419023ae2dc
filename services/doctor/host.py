"""The machine: the store migrated to the newest schema, and enough free disk."""

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from services.doctor.findings import Finding, fail, ok, warn
from services.store.database import (
    Database,
    StoreUnavailable,
    applied_revisions,
    shipped_revisions,
)

STORE = "store"
DISK = "free disk"
GIB = 1024**3


class DiskUsage(NamedTuple):
    total: int
    used: int
    free: int


def store_verdict(current: set[str], migrate_command: str) -> Finding:
    """Whether the store has run every migration the code ships, and no other."""
    shipped = shipped_revisions()
    if not current:
        return fail(STORE, "the store has no schema yet", f"migrate it: `{migrate_command}`")
    unknown = current - shipped
    if unknown:
        return fail(
            STORE,
            f"the store is at {', '.join(sorted(unknown))}, which this version does not know",
            "run the Fengqiao version that migrated it, or restore the store from its backup",
        )
    missing = shipped - applied_revisions(current)
    if missing:
        return fail(
            STORE,
            f"the store is behind: migrations {', '.join(sorted(missing))} not run",
            f"back it up, then migrate it: `{migrate_command}`",
        )
    return ok(STORE, f"migrated to the newest schema ({len(shipped)} migrations)")


async def check_store(url: str, migrate_command: str) -> Finding:
    """Open the store without changing it and compare its migrations with the code's."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return fail(STORE, f"no store at {url}", f"create and migrate it: `{migrate_command}`")
    db = Database.open(url)
    try:
        current = await db.current_heads()
    except StoreUnavailable as exc:
        return fail(STORE, exc.problem, exc.fix)
    finally:
        await db.close()
    return store_verdict(current, migrate_command)


def disk_verdict(path: Path, usage: DiskUsage, minimum_free: int) -> Finding:
    """Enough free space where the store and JetStream write."""
    detail = f"{usage.free / GIB:.1f} GiB free of {usage.total / GIB:.1f} GiB at {path}"
    if usage.free < minimum_free:
        return fail(
            DISK,
            f"{detail}; at least {minimum_free / GIB:.1f} GiB needed",
            "free space or grow the volume; JetStream refuses writes when its disk is full",
        )
    if usage.free < 2 * minimum_free:
        return warn(DISK, detail, "plan more space: less than twice the minimum is left")
    return ok(DISK, detail)


def check_disk(
    data_dir: Path,
    minimum_free: int,
    measure: Callable[[Path], DiskUsage] | None = None,
) -> Finding:
    """Free space on the volume of the data directory (or its nearest existing parent)."""
    path = data_dir.resolve()
    while not path.exists():
        path = path.parent
    usage = measure(path) if measure else DiskUsage(*shutil.disk_usage(path))
    return disk_verdict(path, usage, minimum_free)

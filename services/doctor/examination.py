"""The whole examination of a node's set-up, in the order an operator fixes things."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from services.doctor.findings import Finding
from services.doctor.host import GIB, check_disk, check_store
from services.doctor.region import check_region
from services.doctor.trust import (
    agreements_in_force,
    check_key_expiry,
    check_keys,
    read_agreements,
)
from services.settings import NodeSettings


@dataclass(frozen=True)
class Thresholds:
    """When the doctor warns or fails."""

    key_warning: timedelta = timedelta(days=30)
    minimum_free_bytes: int = 2 * GIB
    nats_timeout_s: float = 2.0


async def examine(
    settings: NodeSettings,
    thresholds: Thresholds,
    clock: Callable[[], datetime],
    config_file: Path | None = None,
) -> list[Finding]:
    """Every check of the node described by `settings`; nothing is changed."""
    now = clock()
    loaded, findings = read_agreements(settings.agreements)
    in_force, verdicts = agreements_in_force(loaded, settings.jurisdiction, now.date())
    findings += verdicts
    findings.append(check_keys(settings.key_directory, settings.jurisdiction, in_force, now))
    if in_force:
        findings.append(check_key_expiry(in_force, now, thresholds.key_warning))
    findings += await check_region(settings, thresholds.nats_timeout_s, clock)
    migrate = "fengqiao node migrate" + (f" --config {config_file}" if config_file else "")
    findings.append(await check_store(settings.store_url, migrate))
    findings.append(check_disk(settings.data_dir, thresholds.minimum_free_bytes))
    return findings

"""The retention schedule: closed cases lose their personal data once their kind's period
(`LIAISON_RETENTION_DAYS`, from `closed_at`) has passed. Run daily by the sweeper (once a
day across every sweeper) and on demand by `liaison retention run [--dry-run]`."""

from __future__ import annotations

import logging

from shared.config import RETENTION_KINDS, Settings
from shared.store import Store
from shared.store.retention import RetentionResult

logger = logging.getLogger(__name__)


def run(store: Store, settings: Settings, *, now: float, by: str,
        dry_run: bool = False, limit: int | None = None) -> RetentionResult:
    """Erase (or, dry, count) every closed case past its period — or about `limit` of them
    (`more` then says some may remain); audit the run."""
    cutoff = {kind: now - settings.retention_seconds(kind) for kind in RETENTION_KINDS}
    result = RetentionResult()
    # a kind with no period (none today) is never erased
    due = store.retention.due(
        now, lambda kind: now - cutoff[kind] if kind in cutoff else float("inf"), limit)
    result.more = limit is not None and len(due) >= limit
    for candidate in due:
        if dry_run or store.retention.erase(candidate, by=by, now=now, cutoff=cutoff):
            result.erased[candidate.kind] = result.erased.get(candidate.kind, 0) + 1
        else:
            result.skipped += 1
    store.audit.record_retention_run(result.erased, by=by, dry_run=dry_run, now=now)
    if result.total or not dry_run:
        logger.info("retention: %s %d closed cases", "would erase" if dry_run else "erased",
                    result.total, extra={"dry_run": dry_run, **{f"erased_{k}": n for k, n
                                                               in result.erased.items()}})
    return result

"""Router tasks: thin adapters from Celery messages (ids only) to the handlers."""

from __future__ import annotations

import logging
from functools import cache

from services.router import handlers, sweeper
from services.router.celery_app import celery_app, settings
from shared.bootstrap import Deps, bootstrap
from shared.messaging import ASSIGN_CASE, SWEEP
from shared.observability import configure_logging
from shared.store import StoreUnavailable

SWEEP_LOCK_SECONDS = 60
logger = logging.getLogger(__name__)


@cache
def _deps() -> Deps:
    """Built once per worker process, on first use (after the prefork fork, never at import)."""
    configure_logging(settings, "router")
    return bootstrap(settings, celery_app=celery_app)


@celery_app.task(name=ASSIGN_CASE, acks_late=True, autoretry_for=(StoreUnavailable,),
                 retry_backoff=1, retry_backoff_max=5, max_retries=None)
def assign_case(case_id: str) -> str:
    """Route one case by id."""
    return handlers.assign_case(case_id, _deps()).outcome


@celery_app.task(name=SWEEP, acks_late=True, ignore_result=True, send_events=False)
def sweep() -> dict[str, int]:
    """One sweep, unless another worker is already sweeping.

    No task events (`send_events=False`): with events on (Flower enables them) a sweep every
    few seconds would be all that Flower's task list shows. Its work is in the logs.
    """
    deps = _deps()
    with deps.store.exclusive("sweep", SWEEP_LOCK_SECONDS) as acquired:
        if not acquired:
            logger.debug("sweep skipped: another worker is sweeping")
            return {}
        report = sweeper.sweep(deps)  # logs its counts (INFO only if it did something)
    return report.counts()

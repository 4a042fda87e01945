"""Router tasks: thin adapters from Celery messages (ids only) to the handlers."""

from __future__ import annotations

from functools import cache

from services.router import handlers, sweeper
from services.router.celery_app import celery_app, settings
from shared.casework import CaseworkDeps
from shared.geography import Force, load_force
from shared.messaging import ASSIGN_CASE, SWEEP, CeleryPublisher
from shared.observability import configure_logging
from shared.store import Store, StoreUnavailable, redis_client

SWEEP_LOCK_SECONDS = 60


@cache
def _deps() -> tuple[CaseworkDeps, Force]:
    """Built once per worker process, on first use (never at import)."""
    configure_logging(settings, "router")
    store = Store(redis_client(settings.redis_url), prefix=settings.key_prefix,
                  events_maxlen=settings.events_maxlen)
    deps = CaseworkDeps(store=store, publisher=CeleryPublisher(celery_app), settings=settings)
    return deps, load_force(settings.force_file or None)


@celery_app.task(name=ASSIGN_CASE, acks_late=True, autoretry_for=(StoreUnavailable,),
                 retry_backoff=1, retry_backoff_max=5, max_retries=None)
def assign_case(case_id: str) -> str:
    """Route one case by id."""
    deps, force = _deps()
    return handlers.assign_case(case_id, deps, force).outcome


@celery_app.task(name=SWEEP, acks_late=True, ignore_result=True)
def sweep() -> dict[str, int]:
    """One sweep, unless another worker is already sweeping."""
    deps, force = _deps()
    with deps.store.exclusive("sweep", SWEEP_LOCK_SECONDS) as acquired:
        if not acquired:
            return {}
        report = sweeper.sweep(deps, force)
    return {name: len(items) for name, items in vars(report).items()}

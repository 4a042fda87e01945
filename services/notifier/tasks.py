"""The notifier's Celery task: unpack the id, delegate to `handlers.deliver`.

Errors are logged by type here and never re-raised: Celery's failure log would repeat the
task's arguments and the exception text (which may echo an address). The notification
record stays pending in the notify outbox, so the sweeper brings it back.
"""

from __future__ import annotations

import logging
from functools import cache

from celery.signals import worker_process_shutdown

from services.notifier import handlers
from services.notifier.celery_app import celery_app, settings
from shared.bootstrap import Deps, bootstrap
from shared.messaging import DELIVER_NOTIFICATION
from shared.observability import configure_logging

logger = logging.getLogger(__name__)


@cache
def deps() -> Deps:
    """Built on first use in each worker process (after the prefork fork, never at import)."""
    configure_logging(settings, "notifier")
    return bootstrap(settings, celery_app=celery_app)


@celery_app.task(name=DELIVER_NOTIFICATION, acks_late=True, ignore_result=True)
def deliver_notification(notification_id: str) -> str:
    """Deliver one stored notification by id."""
    try:
        return handlers.deliver(notification_id, deps())
    except Exception as exc:
        logger.error("notification delivery errored; the sweeper will retry",
                     extra={"notification_id": notification_id, "error": type(exc).__name__})
        return "error"


def close_channels(**_: object) -> None:
    """At worker-process shutdown: QUIT the pooled SMTP session, close idle webhook
    connections (only if this process built its channels)."""
    if deps.cache_info().currsize:
        for channel in deps().channels.values():
            close = getattr(channel, "close", None)
            if close is not None:
                close()


worker_process_shutdown.connect(close_channels, weak=False)

"""The notifier's Celery task: unpack the id, delegate to `handlers.deliver`.

Errors are logged by type here and never re-raised: Celery's failure log would repeat the
task's arguments and the exception text (which may echo an address). The notification
record stays pending in the notify outbox, so the sweeper brings it back.
"""

from __future__ import annotations

import logging
from functools import cache

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

"""The notifier's Celery task: unpack the id, delegate to `handlers.deliver`.

Errors are logged by type here and never re-raised: Celery's failure log would repeat the
task's arguments and the exception text (which may echo an address). The notification
record stays pending in the notify outbox, so the sweeper brings it back.
"""

from __future__ import annotations

import logging

from services.notifier import handlers
from services.notifier.celery_app import celery_app
from services.notifier.channels import (
    AppriseChannel,
    Channel,
    InAppChannel,
    SmtpChannel,
    WebhookChannel,
)
from shared.config import Settings
from shared.geography import load_force
from shared.messaging import DELIVER_NOTIFICATION, CeleryPublisher
from shared.observability import configure_logging
from shared.sealing import Sealer
from shared.store import Store, redis_client

logger = logging.getLogger(__name__)

_deps: handlers.Deps | None = None


def build_deps(settings: Settings) -> handlers.Deps:
    """The notifier's composition root: store, sealer, channels, publisher."""
    store = Store(redis_client(settings.redis_url), prefix=settings.key_prefix,
                  events_maxlen=settings.events_maxlen)
    channels: dict[str, Channel] = {
        "inapp": InAppChannel(store.notifications),
        "email": SmtpChannel(settings.smtp_url, settings.mail_from),
        "webhook": WebhookChannel(settings.webhook_secret),
        "apprise": AppriseChannel(),
    }
    return handlers.Deps(store=store, sealer=Sealer(settings.sealing_keys), settings=settings,
                         channels=channels, publisher=CeleryPublisher(celery_app),
                         force=load_force(settings.force_file or None))


def deps() -> handlers.Deps:
    """Built on first use in each worker process (after the prefork fork, never at import)."""
    global _deps
    if _deps is None:
        settings = Settings.from_env()
        configure_logging(settings, "notifier")
        _deps = build_deps(settings)
    return _deps


@celery_app.task(name=DELIVER_NOTIFICATION, acks_late=True, ignore_result=True)
def deliver_notification(notification_id: str) -> str:
    """Deliver one stored notification by id."""
    try:
        return handlers.deliver(notification_id, deps())
    except Exception as exc:
        logger.error("notification delivery errored; the sweeper will retry",
                     extra={"notification_id": notification_id, "error": type(exc).__name__})
        return "error"

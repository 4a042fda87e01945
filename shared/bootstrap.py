"""The composition root: the one place that builds what Liaison talks to — settings, the
store, the publisher, the sealer, the force, the clock and the notification channels — once
per process. Both Flask apps, both Celery apps, the `liaison` CLI and `make run`'s launcher
call `bootstrap`; tests pass fakes for the parts they replace (a fake store, a recording
publisher, a fixed clock). Nothing here connects: the first command to Redis is the first
use.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from celery import Celery

from shared.channels import AppriseChannel, Channel, InAppChannel, SmtpChannel, WebhookChannel
from shared.config import Settings
from shared.geography import Force, load_force
from shared.messaging import CeleryPublisher, Publisher, make_celery
from shared.outbound import Fence
from shared.sealing import Sealer
from shared.store import Store, redis_client
from shared.store.audit_chain import chain_key


def full_jitter(ceiling: float) -> float:
    """A random delay between 0 and the ceiling (AWS "full jitter"), for retries."""
    return random.uniform(0, ceiling)


@dataclass
class Deps:
    """Everything a handler may talk to; one object for every service."""

    settings: Settings
    store: Store
    publisher: Publisher
    sealer: Sealer
    force: Force
    clock: Callable[[], float] = time.time
    channels: Mapping[str, Channel] = field(default_factory=dict)
    jitter: Callable[[float], float] = full_jitter

    def offer_timeouts(self) -> dict[int, int]:
        """Seconds an officer has to accept an offer, by priority (1 emergency … 4 advice)."""
        return {p: self.settings.offer_timeout(p) for p in (1, 2, 3, 4)}


def make_store(settings: Settings) -> Store:
    """The store over the Redis that is the system of record (no I/O until used)."""
    return Store(redis_client(settings.redis_url), prefix=settings.key_prefix,
                 events_maxlen=settings.events_maxlen,
                 audit_key=chain_key(settings.secret_key))


def make_channels(settings: Settings, store: Store) -> dict[str, Channel]:
    """The ways a notification leaves: in-app inbox, SMTP, signed webhooks, Apprise; every
    outbound one behind the fence of LIAISON_OUTBOUND_ALLOW."""
    fence = Fence(settings.outbound_allow)
    return {
        "inapp": InAppChannel(store.notifications),
        "email": SmtpChannel(settings.smtp_url, settings.mail_from, fence=fence),
        "webhook": WebhookChannel(settings.webhook_secret, fence=fence),
        "apprise": AppriseChannel(fence=fence),
    }


def bootstrap(settings: Settings | None = None, *, name: str = "liaison",
              celery_app: Celery | None = None, store: Store | None = None,
              publisher: Publisher | None = None, force: Force | None = None,
              clock: Callable[[], float] | None = None,
              channels: Mapping[str, Channel] | None = None) -> Deps:
    """Build the dependencies of one process.

    `celery_app`: a worker's own Celery app publishes its follow-up work; without one, a
    client app named `name` is made (web apps, the CLI). Messages are published by the
    store's own script when the broker is the same Redis (`inline`).
    """
    settings = settings or Settings.from_env()
    store = store or make_store(settings)
    if publisher is None:
        app = celery_app or make_celery(name, settings)
        publisher = CeleryPublisher(app, inline=settings.broker == settings.redis_url)
    return Deps(
        settings=settings, store=store, publisher=publisher,
        sealer=Sealer(settings.sealing_keys),
        force=force or load_force(settings.force_file or None),
        clock=clock or time.time,
        channels=make_channels(settings, store) if channels is None else channels,
    )

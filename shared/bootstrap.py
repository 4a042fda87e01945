"""The composition root: the one place that builds what Liaison talks to — settings, the
store, the publisher, the sealer, the force, the clock and the notification channels — once
per process. Both Flask apps, both Celery apps, the `liaison` CLI and `make run`'s launcher
call `bootstrap`; tests pass fakes for the parts they replace (a fake store, a recording
publisher, a fixed clock). Nothing here connects: the first command to Redis is the first
use.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

import redis
from celery import Celery
from celery.signals import worker_init

from shared.channels import AppriseChannel, Channel, InAppChannel, SmtpChannel, WebhookChannel
from shared.config import ConfigError, Settings
from shared.geography import Force, load_force
from shared.messaging import CeleryPublisher, Publisher, make_celery
from shared.outbound import Fence
from shared.sealing import Sealer
from shared.store import Store, StoreUnavailable, redis_client
from shared.store.audit_chain import chain_key
from shared.store.base import Durability, check_fsync, sentinel_client, translate_errors

logger = logging.getLogger(__name__)


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


def redis_connection(settings: Settings, *, timeout: float = 5.0) -> redis.Redis:
    """A client of the Redis that is the system of record (no I/O until used): the URL's
    server, or under Sentinel (LIAISON_REDIS_SENTINELS) whichever node the Sentinels name
    as master now — then LIAISON_REDIS_URL gives only the password and database number."""
    if not settings.sentinel:
        return redis_client(settings.redis_url, timeout=timeout)
    url = urlparse(settings.redis_url)
    return sentinel_client(
        settings.redis_sentinels, settings.redis_master, db=settings.redis_db,
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        sentinel_password=settings.redis_sentinel_password or None, timeout=timeout)


def durability(settings: Settings) -> Durability:
    return Durability(settings.durability, settings.durability_replicas,
                      settings.durability_timeout_ms)


def check_before_consuming(settings: Settings) -> None:
    """A worker checks what bootstrap would check (LIAISON_DURABILITY=fsync against the
    Redis) when it starts, not on its first task: in production a mismatch stops the worker
    before it takes any work (Celery's signal dispatch swallows exceptions, so it exits)."""
    def _check(**_: object) -> None:
        try:
            verify_durability(settings, make_store(settings))
        except ConfigError as exc:
            logger.critical("worker not started: %s", exc)
            raise SystemExit(f"liaison: {exc}") from None

    worker_init.connect(_check, weak=False)


def make_store(settings: Settings) -> Store:
    """The store over the Redis that is the system of record (no I/O until used)."""
    return Store(redis_connection(settings), prefix=settings.key_prefix,
                 events_maxlen=settings.events_maxlen,
                 audit_key=chain_key(settings.secret_key), durability=durability(settings))


def verify_durability(settings: Settings, store: Store) -> None:
    """LIAISON_DURABILITY=fsync promises that an acknowledged write is on the master's disk:
    check that the Redis appends every write to its AOF (`appendfsync always`). Production
    refuses to start on a mismatch (ConfigError naming the setting); development and test
    log a warning and go on. A Redis that cannot be reached now is not a mismatch (the
    service starts and answers 503 until it is back); one that refuses CONFIG is."""
    if settings.durability != "fsync":
        return
    try:
        problem = translate_errors(check_fsync)(store.redis)
    except StoreUnavailable as exc:
        logger.warning("LIAISON_DURABILITY=fsync not verified: Redis not reachable at "
                       "start-up", extra={"error": str(exc)})
        return
    if problem is None:
        return
    if settings.production:
        raise ConfigError("invalid settings:\n  " + problem)
    logger.warning("DURABILITY MISMATCH — acknowledged writes may be lost in a crash: "
                   + problem)


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
    verify_durability(settings, store)
    if publisher is None:
        app = celery_app or make_celery(name, settings)
        # inline: the broker is the store's Redis (the same URL, or the same Sentinels)
        publisher = CeleryPublisher(app, inline=settings.broker_is_store)
    return Deps(
        settings=settings, store=store, publisher=publisher,
        sealer=Sealer(settings.sealing_keys),
        force=force or load_force(settings.force_file or None),
        clock=clock or time.time,
        channels=make_channels(settings, store) if channels is None else channels,
    )

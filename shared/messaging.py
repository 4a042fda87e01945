"""The messaging contract: task names, queues, and the Celery reliability settings.

Payloads are ids only. A message is the fast path; the durable record in Redis (outbox,
offers, notifications) is the truth, and the sweeper re-publishes what a lost message
left behind (DESIGN §7).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import ssl
import uuid
from typing import Any, Protocol
from urllib.parse import urlparse

from celery import Celery
from celery.signals import setup_logging
from redis.backoff import NoBackoff
from redis.retry import Retry

from shared import broker
from shared.config import Settings
from shared.observability import configure_logging

logger = logging.getLogger(__name__)

ROUTE_QUEUE = "route"
NOTIFY_QUEUE = "notify"
SWEEP_QUEUE = "sweep"

ASSIGN_CASE = "router.assign_case"
DELIVER_NOTIFICATION = "notifier.deliver"
SWEEP = "router.sweep"

TASK_QUEUES = {ASSIGN_CASE: ROUTE_QUEUE, DELIVER_NOTIFICATION: NOTIFY_QUEUE, SWEEP: SWEEP_QUEUE}

# Longest task time limit; the visibility timeout sits well above it.
TASK_TIME_LIMIT = 60
VISIBILITY_TIMEOUT = 15 * 60

# How the broker connection behaves when Redis goes away (DESIGN §7: workers reconnect by
# themselves). A crash or restart of Redis closes the sockets: the consumer sees it at once
# and reconnects, retrying forever (broker_connection_max_retries=None), and the guarded
# transport (shared/broker.py) keeps kombu's cleanup from killing the worker. Redis gone
# silent without closing the sockets (a host or network failure, a hung server) needs the
# timeouts and health checks below, or a worker waits forever on the dead connection
# (tests/integration/test_redis_restarts.py proves both cases).
BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
    "visibility_timeout": VISIBILITY_TIMEOUT,
    "socket_timeout": 10,          # a publish or ack on a silent connection fails, not hangs
    "socket_connect_timeout": 5,   # an unreachable host fails the attempt, then a retry
    "health_check_interval": 10,   # PING idle connections; drop a BRPOP 1 + 10 s overdue
}
# Under Sentinel, how long to wait for each Sentinel when asking where the master is.
SENTINEL_SOCKET_TIMEOUT = 1.0
# Connecting to the broker (each attempt): a dead master fails fast, the retry asks the
# Sentinels again. A failover takes the Sentinels' down-after time plus the election (a
# few seconds); the consumer keeps retrying (broker_connection_max_retries=None).
BROKER_CONNECTION_TIMEOUT = 4


def make_celery(name: str, settings: Settings, *, log_as: str = "",
                include: list[str] | None = None) -> Celery:
    """A Celery app with the reliability settings every service shares.

    `log_as` (a worker's service name) makes the worker and beat log through our JSON
    logging from their first line instead of Celery's own text format.
    """
    app = Celery(name, broker=settings.broker, set_as_current=False, include=include or [])
    transport_options = dict(BROKER_TRANSPORT_OPTIONS)
    if urlparse(settings.broker).scheme == "sentinel":
        transport_options.update(sentinel_options(settings))
    if log_as:
        def _logging(**_: object) -> None:
            configure_logging(settings, log_as)

        setup_logging.connect(_logging, weak=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        task_time_limit=TASK_TIME_LIMIT,
        task_soft_time_limit=TASK_TIME_LIMIT - 10,
        task_routes={name: {"queue": queue} for name, queue in TASK_QUEUES.items()},
        task_default_queue=ROUTE_QUEUE,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        broker_connection_timeout=BROKER_CONNECTION_TIMEOUT,
        # An error reply while the consumer (re)starts — a demoted master's READONLY, an
        # OOM — restarts the consumer like a lost connection instead of stopping the worker.
        broker_channel_error_retry=True,
        **broker_transport(settings.broker),
        worker_hijack_root_logger=False,
        worker_consumer=broker.CONSUMER,  # reconnects on a short back-off (failover)
        worker_send_task_events=False,
        task_send_sent_event=False,
        enable_utc=True,
    )
    return app


def sentinel_options(settings: Settings) -> dict[str, Any]:
    """kombu transport options for a `sentinel://` broker: the master's name (the one
    LIAISON_REDIS_MASTER names) and how to talk to the Sentinels (their password)."""
    sentinel_kwargs: dict[str, Any] = {"socket_timeout": SENTINEL_SOCKET_TIMEOUT,
                                       "socket_connect_timeout": SENTINEL_SOCKET_TIMEOUT,
                                       # a Sentinel that does not answer: ask the next one
                                       # (redis-py's default retries each one with backoff)
                                       "retry": Retry(NoBackoff(), 0)}
    if settings.redis_sentinel_password:
        sentinel_kwargs["password"] = settings.redis_sentinel_password
    return {"master_name": settings.redis_master, "sentinel_kwargs": sentinel_kwargs}


def broker_transport(url: str) -> dict[str, Any]:
    """Celery settings that select our guarded Redis transport (shared/broker.py).

    `broker_transport` overrides the transport kombu would pick from the URL's scheme, so
    for rediss:// it also states the TLS settings kombu would otherwise derive from the
    scheme (certificates verified, as redis-py does for the store); ssl_* options in the
    URL still win. sentinel:// selects the guarded Sentinel transport.
    """
    scheme = urlparse(url).scheme
    if scheme == "sentinel":
        return {"broker_transport": broker.SENTINEL_TRANSPORT}
    if scheme not in ("redis", "rediss"):
        return {}
    conf: dict[str, Any] = {"broker_transport": broker.TRANSPORT}
    if scheme == "rediss":
        conf["broker_use_ssl"] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    return conf


class Publisher(Protocol):
    """Announces work by id; failure is logged and left to the sweeper."""

    def route_case(self, case_id: str) -> bool: ...

    def route_message(self, case_id: str) -> tuple[str, str] | None: ...

    def deliver_notification(self, notification_id: str) -> bool: ...


class CeleryPublisher:
    """Publishes task messages by name (services never import each other's tasks)."""

    def __init__(self, app: Celery, *, inline: bool = False) -> None:
        self._app = app
        self._inline = inline  # the broker is the store's Redis: messages may ride scripts
        self._origin = f"{socket.gethostname()}-{os.getpid()}"

    def route_case(self, case_id: str) -> bool:
        """Ask a router to assign the case; False (and a log line) if the broker refused."""
        return self._send(ASSIGN_CASE, ROUTE_QUEUE, case_id)

    def route_message(self, case_id: str) -> tuple[str, str] | None:
        """(queue key, message) for `router.assign_case(case_id)` exactly as kombu's Redis
        transport would LPUSH it — so intake can enqueue it inside the script that stores
        the case (one round trip, and no gap between stored and announced). None when the
        broker is not the store's Redis."""
        if self._inline is False:
            return None
        task_id = str(uuid.uuid4())
        message = self._app.amqp.as_task_v2(task_id, ASSIGN_CASE, args=[case_id], kwargs={},
                                            origin=self._origin)
        body = json.dumps(message.body).encode()
        envelope = {
            "body": base64.b64encode(body).decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": message.headers,
            "properties": {
                "correlation_id": task_id, "reply_to": "", "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": ROUTE_QUEUE},
                "priority": 0, "body_encoding": "base64", "delivery_tag": str(uuid.uuid4()),
            },
        }
        return ROUTE_QUEUE, json.dumps(envelope)

    def deliver_notification(self, notification_id: str) -> bool:
        """Ask a notifier to deliver a stored notification record."""
        return self._send(DELIVER_NOTIFICATION, NOTIFY_QUEUE, notification_id)

    def _send(self, task: str, queue: str, record_id: str) -> bool:
        try:
            self._app.send_task(
                task, args=[record_id], queue=queue,
                retry=True, retry_policy={"max_retries": 1, "interval_start": 0,
                                          "interval_step": 0.2, "interval_max": 0.5},
            )
        except Exception as exc:  # the durable record + sweeper make this safe to swallow
            logger.warning("publish failed; the sweeper will retry",
                           extra={"task": task, "record_id": record_id,
                                  "error": type(exc).__name__})
            return False
        return True

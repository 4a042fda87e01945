"""The Celery broker transport: kombu's Redis transport with two guards for outages.

1. A worker could exit with "Unrecoverable error: AttributeError("'NoneType' object has
   no attribute 'hostname'")" when Redis was killed (issue 7, item 6). The path, in kombu
   5.7.0 (the latest release):

   - Redis dies while a task is in flight (its message delivered, not yet acked) and the
     consumer's channel has a BRPOP outstanding. Celery's consumer calls
     `Connection.collect()` and then `Connection.close()` on the broken connection.
   - `collect()` first closes the default channel: `Channel.close()` reads the
     outstanding BRPOP reply, which raises `ConnectionError`; `maybe_close_channel`
     swallows it and the channel stays open. `Transport.close_connection()` then closes
     the channels in turn; the remote-control (pidbox) channel's close deletes its fanout
     binding on the dead server, raises, and ends the loop before the default channel's
     turn. Last, `collect()` detaches the transport: `transport.client = None`.
   - `close()` closes the default channel again. Its pools are gone, so restoring the
     unacked message (`QoS.restore_unacked_once` -> `restore_unacked` ->
     `conn_or_acquire` -> `pool` -> `_get_pool` -> `_connparams`) reads
     `self.connection.client.hostname` on `None`. An `AttributeError` is not a
     connection error, so kombu's `maybe_close_channel` and Celery's `ignore_errors` let
     it through and the worker's main process exits.

   The same `_connparams` failure on a channel closed after its connection was reported
   upstream as celery/kombu#582 (there from the Gossip step); 5.7.0 still reads
   `self.connection.client` unguarded. The guard: a channel whose transport is detached
   has no broker to talk to, which is a connection error, so `_connparams` raises
   `redis.ConnectionError` instead. Every caller on these paths already expects
   connection errors during an outage (`maybe_close_channel`, `ignore_errors`,
   `ack_log_error`) and the consumer reconnects as for any outage.

2. An ack that cannot reach Redis keeps its prefetch slot for good (see `QoS`), so a
   worker whose connection went silent stops asking for work and never notices.

3. A Redis that refuses writes when a worker starts or reconnects — out of memory under
   `noeviction` (OOM), or a replica (READONLY: a demoted master the worker reached before
   the Sentinels or its pool moved on) — answers with an error reply, which kombu counts as
   a channel error, so a worker declaring its queues there exited. Both are conditions of
   the server, not of the request: the transports here count them as connection errors,
   and the consumer retries as for any outage.

Under Sentinel (`sentinel://` broker URLs) `SentinelTransport` carries the same guards over
kombu's `SentinelChannel`: each new connection asks the Sentinels for the master, so after
a failover the consumer's reconnect reaches the promoted replica by itself.

Nothing is lost either way: a message not acked stays in kombu's unacked hash in Redis
(restored after the visibility timeout) and its durable record (outbox, notify outbox)
is re-published by the sweeper (DESIGN §7); handlers are idempotent.

`make_celery` selects this transport through Celery's `broker_transport` setting for
redis:// and rediss:// broker URLs; tests/integration/test_redis_restarts.py reproduces
both failures and proves the guards.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from celery.worker import consumer as celery_consumer
from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import (  # type: ignore[attr-defined]  # (not in types-redis 4.6)
    OutOfMemoryError,
    ReadOnlyError,
)

logger = logging.getLogger(__name__)

TRANSPORT = "shared.broker:Transport"
SENTINEL_TRANSPORT = "shared.broker:SentinelTransport"
# Write refusals that say the server cannot take writes now (not that the request is wrong).
REFUSALS: tuple[type[Exception], ...] = (OutOfMemoryError, ReadOnlyError)
CLOSED = "broker channel used after its connection was closed"


class QoS(kombu_redis.QoS):
    """kombu's Redis ack emulation, freeing the prefetch slot when an ack cannot reach Redis.

    kombu forgets a delivered message only after Redis confirmed the ack; if the ack fails
    (a connection error or socket timeout), the message keeps its prefetch slot for good.
    With `worker_prefetch_multiplier=1` the channel then never asks for more work, so no
    BRPOP is outstanding and kombu's BRPOP health check, which would notice a silent
    connection, never runs: the worker sits idle on a connection that looks alive. The
    message itself is safe in Redis either way (still in kombu's unacked hash, restored
    after the visibility timeout), so forgetting it locally loses nothing.
    """

    def ack(self, delivery_tag: str) -> None:
        try:
            super().ack(delivery_tag)
        except kombu_redis.Transport.connection_errors:
            self._quick_ack(delivery_tag)
            raise

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        try:
            super().reject(delivery_tag, requeue=requeue)
        except kombu_redis.Transport.connection_errors:
            self._quick_ack(delivery_tag)
            raise


def _guard(channel: kombu_redis.Channel) -> None:
    transport = channel.connection
    if transport is None or transport.client is None:
        logger.info(CLOSED + "; treated as a lost connection (unacked messages stay "
                    "in Redis until the visibility timeout)")
        raise RedisConnectionError(CLOSED)


class Channel(kombu_redis.Channel):
    """kombu's Redis channel, failing like an outage once its connection is gone."""

    QoS = QoS

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        _guard(self)
        params: dict[str, Any] = super()._connparams(asynchronous=asynchronous)
        return params


class Transport(kombu_redis.Transport):
    """kombu's Redis transport with the guarded channel."""

    Channel = Channel
    connection_errors = kombu_redis.Transport.connection_errors + REFUSALS


class SentinelChannel(kombu_redis.SentinelChannel):
    """kombu's Sentinel channel with the same guards as `Channel`."""

    QoS = QoS

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        _guard(self)
        params: dict[str, Any] = super()._connparams(asynchronous=asynchronous)
        return params


class SentinelTransport(kombu_redis.SentinelTransport):
    """kombu's Sentinel transport with the guarded channel and the write refusals counted
    as connection errors."""

    Channel = SentinelChannel
    connection_errors = kombu_redis.SentinelTransport.connection_errors + REFUSALS


# How soon a worker tries the broker again after losing it: kombu's defaults wait 2 s, then
# 4 s more, up to 30 s between tries. A Sentinel failover takes a few seconds, so the first
# try after it usually finds "no master yet" and the next waits four more: workers came back
# about 6 s after a master was killed although the new master was ready at about 2.3 s
# (the failover drill). Half a second between tries, at most two.
RECONNECT_INTERVALS = {"interval_start": 0.5, "interval_step": 0.5, "interval_max": 2.0}
CONSUMER = "shared.broker:Consumer"


class Consumer(celery_consumer.Consumer):
    """Celery's worker consumer, reconnecting to the broker on a short back-off."""

    def ensure_connected(self, conn: Any) -> Any:
        conn.ensure_connection = functools.partial(conn.ensure_connection,
                                                   **RECONNECT_INTERVALS)
        return super().ensure_connected(conn)

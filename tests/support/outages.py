"""Helpers for outage tests: steady load, worker health, and the "nothing lost" audit.

Used by tests/integration/test_redis_restarts.py, which SIGKILLs and restarts redis-server
under load while real router and notifier workers run.
"""

from __future__ import annotations

import asyncio
import select
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

from shared.store import Store
from tests.support.stack import CeleryProcess, MailSink

SETTLED = ("offered", "waiting")
DONE = ("sent", "skipped")
FATAL_LOG_LINES = ("Unrecoverable error",)


class SlowMailSink(MailSink):
    """A MailSink that takes `delay` seconds to accept each message.

    A slow channel keeps deliveries in flight (delivered to the worker, not yet acked)
    when Redis dies, which is the state the kombu close-after-collect crash needs.
    """

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


class Load(threading.Thread):
    """Calls `make_case()` every `interval` seconds until stopped.

    `make_case` returns the new case's id, or None when the system refused it (e.g. a 503
    while Redis is down); refusals are counted, never retried (the reporter would retry).
    """

    def __init__(self, make_case: Callable[[], str | None], interval: float) -> None:
        super().__init__(daemon=True, name="load")
        self.make_case = make_case
        self.interval = interval
        self.created: list[tuple[float, str]] = []   # (monotonic time, case id)
        self.refused = 0
        self.errors: list[str] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                case_id = self.make_case()
            except Exception as exc:  # a refusal we did not expect: record, keep going
                self.errors.append(type(exc).__name__)
                case_id = None
            if case_id:
                self.created.append((time.monotonic(), case_id))
            else:
                self.refused += 1
            self._stop_event.wait(self.interval)

    def ids(self) -> list[str]:
        return [case_id for _, case_id in self.created]

    def created_after(self, moment: float) -> list[str]:
        return [case_id for at, case_id in self.created if at > moment]

    def stop(self) -> None:
        self._stop_event.set()
        self.join(30)


def worker_problems(proc: CeleryProcess, concurrency: int | None) -> list[str]:
    """Why this celery process is not healthy (empty when it is).

    Healthy: the main process we started is still running (never replaced), it has
    `concurrency` live pool children (a beat has none: pass None), and its log has no
    fatal line. Pool children may have been replaced (a task cancelled on connection loss
    kills its child), but the pool must be back to full strength.
    """
    problems: list[str] = []
    name = proc.command[0]
    if proc.proc is None or proc.proc.poll() is not None:
        code = None if proc.proc is None else proc.proc.returncode
        problems.append(f"{proc.app_module} {name} exited (code {code})")
    elif concurrency is not None:
        children = [c for c in proc.pool_children() if _running(c)]
        if len(children) != concurrency:
            problems.append(f"{proc.app_module} {name} has {len(children)} live pool "
                            f"children, not {concurrency}")
    log = proc.log()
    for marker in FATAL_LOG_LINES:
        if marker in log:
            at = log.index(marker)
            problems.append(f"{proc.app_module} {name} logged {marker!r}:\n"
                            f"{log[max(0, at - 1500):at + 1500]}")
    return problems


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@dataclass
class Audit:
    """Where every case and notification ended up."""

    cases: int = 0
    unsettled: dict[str, str] = field(default_factory=dict)        # case id -> state
    notifications: int = 0
    delivered: int = 0
    pending: int = 0
    pending_kinds: Counter[str] = field(default_factory=Counter)   # kind -> pending count
    dead: list[str] = field(default_factory=list)
    stranded: dict[str, str] = field(default_factory=dict)         # id -> status, no retry due
    offers_missing: list[str] = field(default_factory=list)        # offered, no offer record

    @property
    def lost(self) -> int:
        return len(self.unsettled) + len(self.stranded) + len(self.offers_missing)


def audit(store: Store) -> Audit:
    """Every case stored is offered or waiting; every notification is delivered, or pending
    with its retry in the notify outbox (so the sweeper will send it); every offered case
    has its offer notification."""
    r = store.redis
    prefix = store.keys.prefix
    result = Audit()
    offer_cases: set[str] = set()
    outbox = set(r.zrange(store.keys.notify_outbox, 0, -1))
    for key in r.scan_iter(f"{prefix}notification:*", count=500):
        if key.count(":") != prefix.count(":") + 1:
            continue  # a delivery claim, not a notification record
        record = r.hgetall(key)
        result.notifications += 1
        status = record.get("status", "")
        if record.get("kind") == "offer":
            offer_cases.add(record.get("case_id", ""))
        if status in DONE:
            result.delivered += 1
        elif status == "pending" and record.get("id") in outbox:
            result.pending += 1
            result.pending_kinds[record.get("kind", "")] += 1
        elif status == "dead":
            result.dead.append(record.get("id", key))
        else:
            result.stranded[record.get("id", key)] = status
    for key in r.scan_iter(f"{prefix}case:*", count=500):
        if key.count(":") != prefix.count(":") + 1:
            continue  # a case's log, notes or exclusions
        case = r.hgetall(key)
        result.cases += 1
        state = case.get("state", "")
        if state not in SETTLED:
            result.unsettled[case.get("id", key)] = state
        elif state == "offered" and case.get("id") not in offer_cases:
            result.offers_missing.append(case.get("id", key))
    return result


class FreezingProxy:
    """A TCP proxy to Redis that can make every open connection go silent.

    `freeze()` stops forwarding on the connections open at that moment without closing
    them: to the client the server is still there but never answers (a half-open
    connection, as after a host or network failure). Connections made later are forwarded
    normally, as when the clients reach the server again.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._frozen: list[threading.Event] = []
        self._sockets: list[socket.socket] = []
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True, name="proxy-accept").start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def freeze(self) -> None:
        for event in list(self._frozen):
            event.set()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        for sock in list(self._sockets):
            sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
                server = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                continue
            frozen = threading.Event()
            self._frozen.append(frozen)
            self._sockets += [client, server]
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst, frozen),
                                 daemon=True, name="proxy-pump").start()

    def _pump(self, src: socket.socket, dst: socket.socket, frozen: threading.Event) -> None:
        while not self._closed.is_set():
            if frozen.is_set():
                time.sleep(0.1)          # silent: neither read nor forward, never close
                continue
            try:
                ready, _, _ = select.select([src], [], [], 0.2)
                if not ready:
                    continue
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
            except (OSError, ValueError):   # ValueError: the other side closed it
                break
        if not frozen.is_set():
            for sock in (src, dst):
                try:
                    sock.close()
                except OSError:
                    pass

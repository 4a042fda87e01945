"""The failover drill: SIGKILL the Redis master under load and count what survived.

A Redis master, one replica and three Sentinels (`ops.devsentinel.SentinelCluster`); intake
under gunicorn (2 workers x 4 threads, as the Procfile runs it), TWO router workers
(`-Q route,sweep`), a notifier and beat, each started as its own process with its own
environment pointing at the Sentinels, as if on separate machines. Officers are always on
shift, with room for every case, and their offer alerts go to a real SMTP sink and a real
HTTP (webhook) sink. A partner-like client sends 20 reports a second, each with its own
Idempotency-Key, and retries a 503 or a lost connection with back-off, keeping the key.

Mid-load the drill SIGKILLs the master (round `master`); in round `master+router`, the
master and one of the two router workers at the same instant (the machine's worth of
processes); in round `master+lagging-replica`, the master after its replica has heard
nothing from it for 1.5 s (the replication link runs through a proxy the drill holds up,
then drops): the window in which asynchronous replication loses what the master
acknowledged. Nobody touches anything afterwards: the Sentinels promote the replica and
5 s after the kill the killed processes start again, as their supervisor would (systemd
`Restart=always`, compose `restart:`, `make run`'s own), the Redis node as a replica of the
new master. With a single replica that restart is what gives `replicated` a replica to
confirm writes again (`--no-restart` shows the difference). For each durability mode
(`async`, `fsync`, `replicated`) and round it counts:

- acknowledged: reports answered 201 (or 200, a replay of an earlier 201) to the client;
- present: acknowledged reports whose case is in the store afterwards (looked up by the
  reference in the acknowledgement);
- routed: present cases offered to an officer (state offered, accepted or contacted);
- lost: acknowledged but absent;
- duplicate offers: cases offered to two officers at once (the sinks were told of more
  than one officer, or of one the store does not hold it for, with no decline, expiry or
  withdrawal in between), cases with two live offers in the store, cases alerted twice
  to the same officer on the same channel (the notifier sending one offer again, or the
  router offering it again to the same officer after the failover erased the first
  offer: the sinks cannot tell which), and offers of erased cases: an officer told of
  a reference the store no longer has and the client was never given (made and offered on
  the old master, never replicated, so never acknowledged; the partner's retry made the
  report again and it was offered again under a new reference — one report, two offers).
  An alerted reference that was acknowledged and then lost counts as lost, not here;
- intake recovery: seconds from the kill to the first 201 for a POST sent after it;
- worker recovery: seconds from the kill to the first case offered after it (the first
  `CaseOffered` in the events stream), and to the first offer alert arriving at a sink.

Pass: every mode and round recovers (intake and workers) within 30 s, and `replicated`
loses no acknowledged report and makes no duplicate offer. The cost of each mode is the
intake's acknowledgement latency before the kill (p50/p99, service time), against async.

`python -m bench.failover` (`make drill`) runs every mode and round and writes
bench/results/failover.json; `--quick` is a one-round smoke run; `python -m bench --only
failover` runs it as a benchmark. `tests/integration/test_failover_drill.py` runs one short
round with `run_round`.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import http.client
import json
import math
import random
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import redis
from redis.sentinel import Sentinel

from bench import common, workload
from bench.common import (
    QUICK_DIR,
    RESULTS_DIR,
    TMP_DIR,
    MachineWatch,
    Options,
    Outcome,
    log,
    new_tmp,
    remove_scratch,
    summarise,
    write_result,
)
from bench.sinks import REFERENCE
from ops.devsentinel import Node, SentinelCluster
from shared.store import Store
from tests.support.outages import FreezingProxy
from tests.support.processes import run_web
from tests.support.stack import CeleryProcess, HttpSink, MailSink, stack_env

MODES = ("async", "fsync", "replicated")
# What is killed mid-load: the master; the master and a router worker (the machine's worth
# of processes); the master while its replica lags (the replication link held up for `lag`
# seconds first, so the replica lacks the last writes the master acknowledged — the window
# that async replication loses and `replicated` must not).
ROUNDS = ("master", "master+router", "master+lagging-replica")
RECOVERY_TARGET_S = 30.0
SECRET = "drill-webhook-secret"
MAIL_DOMAIN = "liaison.test"
ROUTED_STATES = ("offered", "accepted", "contacted")
# Events that end an offer: after one of them the case may be offered again, legitimately.
OFFER_ENDED = ("OfferDeclined", "OfferExpired", "OfferWithdrawn", "CaseReassigned")


def sentinel_support() -> bool:
    """Whether the application's settings know about Sentinel (LIAISON_REDIS_SENTINELS)."""
    from dataclasses import fields

    from shared.config import Settings

    return any(f.name == "redis_sentinels" for f in fields(Settings))


@dataclass
class Plan:
    """How one round runs (times in seconds)."""

    mode: str = "replicated"
    kill: str = "master"                 # one of ROUNDS
    rate: float = 20.0                   # new reports per second
    kill_at: float = 10.0                # after the load starts
    lag: float = 1.5                     # master+lagging-replica: replication held this long
    after_kill_min: float = 15.0         # the load runs at least this long after the kill
    after_recovery: float = 8.0          # ... and this long after both recoveries
    after_kill_max: float = 40.0         # ... but never longer than this after the kill
    settle: float = 30.0                 # at most, for retries, routing and alerts to finish
    officers_per_district: int = 2
    replicas: int = 1                    # Redis replicas under the master
    sweep_interval: int = 5              # the defaults, as deployed
    outbox_grace: int = 5
    # What a process supervisor (systemd Restart=always, compose restart: unless-stopped,
    # ops/devsupervisor.py) does: start the killed processes again this long after the kill
    # (the Redis node rejoins as a replica). None: they stay dead.
    restart_after: float | None = 5.0
    # Find the master through the Sentinels (the drill proper); False pins every process to
    # the first master's URL (only to try the harness where Sentinel support is missing).
    sentinel: bool = True

    @property
    def lag_round(self) -> bool:
        return self.kill == "master+lagging-replica"


# -- the partner's client ---------------------------------------------------------------

@dataclass
class Attempt:
    start: float     # time.time() the POST was sent
    end: float       # time.time() its answer (or failure) came
    status: int      # HTTP status; 0 for a connection error or timeout


@dataclass
class Submission:
    index: int
    key: str
    body: bytes
    planned: float
    attempts: list[Attempt] = field(default_factory=list)
    status: int = 0          # the acknowledging status (201/200), or the last one seen
    reference: str = ""

    @property
    def acked(self) -> bool:
        return self.status in (200, 201)

    @property
    def acked_at(self) -> float | None:
        return self.attempts[-1].end if self.acked else None


class RetryingClient:
    """A partner's form posting reports at `rate` per second, each with its own
    Idempotency-Key; a 503, 5xx, 429 or lost connection is retried with the same key after
    0.5 s, 1 s, 2 s … up to `cap` (with jitter) until acknowledged or `give_up` seconds have
    passed since it was first due. Other answers (4xx) are final. It retries sooner than
    intake's Retry-After so the drill measures recovery, not the client's patience.
    """

    def __init__(self, url: str, bodies: Sequence[bytes], rate: float, key_prefix: str, *,
                 threads: int = 32, timeout: float = 10.0, backoff: float = 0.5,
                 cap: float = 5.0, give_up: float = 90.0) -> None:
        parsed = urlparse(url)
        if parsed.hostname != "127.0.0.1":
            raise ValueError("the drill's client only targets 127.0.0.1")
        self.host, self.port, self.path = parsed.hostname, parsed.port, parsed.path
        self.bodies, self.rate, self.key_prefix = bodies, rate, key_prefix
        self.timeout, self.backoff, self.cap, self.give_up = timeout, backoff, cap, give_up
        self.submissions: list[Submission] = []
        self._queue: list[tuple[float, int, int]] = []   # (due, index, retries)
        self._cond = threading.Condition()
        self._busy = 0
        self._feeding = True
        self._closed = False
        self._rng = random.Random(7)
        self._threads = [threading.Thread(target=self._work, daemon=True, name=f"client-{i}")
                         for i in range(threads)]
        self._feeder = threading.Thread(target=self._feed, daemon=True, name="client-feed")
        self.started = 0.0

    def start(self) -> RetryingClient:
        self.started = time.time()
        for t in self._threads:
            t.start()
        self._feeder.start()
        return self

    def stop_new(self) -> None:
        """No more new reports; the ones not yet acknowledged keep being retried."""
        with self._cond:
            self._feeding = False
            self._cond.notify_all()
        self._feeder.join()

    def outstanding(self) -> int:
        with self._cond:
            return len(self._queue) + self._busy

    def close(self) -> None:
        """Stop retrying; what is not acknowledged by now never will be."""
        self.stop_new()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for t in self._threads:
            t.join(self.timeout + 1)

    def _feed(self) -> None:
        i = 0
        while i < len(self.bodies):
            due = self.started + 0.1 + i / self.rate
            with self._cond:
                while self._feeding and time.time() < due:
                    self._cond.wait(min(0.05, max(0.0, due - time.time())))
                if not self._feeding:
                    return
                self.submissions.append(Submission(
                    i, f"{self.key_prefix}-{i:05d}", self.bodies[i], due))
                heapq.heappush(self._queue, (due, i, 0))
                self._cond.notify()
            i += 1

    def _next(self) -> tuple[Submission, int] | None:
        with self._cond:
            while True:
                if self._closed:
                    return None
                if self._queue and self._queue[0][0] <= time.time():
                    _, index, retries = heapq.heappop(self._queue)
                    self._busy += 1
                    return self.submissions[index], retries
                wait = self._queue[0][0] - time.time() if self._queue else 0.1
                self._cond.wait(min(0.1, max(0.001, wait)))

    def _work(self) -> None:
        while (item := self._next()) is not None:
            sub, retries = item
            attempt, body = self._post(sub)
            with self._cond:
                self._busy -= 1
                sub.attempts.append(attempt)
                sub.status = attempt.status
                if sub.acked:
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        sub.reference = json.loads(body)["reference"]
                elif _retryable(attempt.status) and not self._closed \
                        and time.time() - sub.planned < self.give_up:
                    delay = min(self.cap, self.backoff * 2 ** retries)
                    delay *= self._rng.uniform(0.8, 1.2)
                    heapq.heappush(self._queue, (time.time() + delay, sub.index, retries + 1))
                self._cond.notify_all()

    def _post(self, sub: Submission) -> tuple[Attempt, bytes]:
        """One POST on a connection of its own (a kept-alive one that the server closed
        while idle would fail for the client's reasons, not the server's)."""
        head = {"Content-Type": "application/json", "Idempotency-Key": sub.key,
                "Connection": "close"}
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        start = time.time()
        try:
            conn.request("POST", self.path, body=sub.body, headers=head)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            return Attempt(start, time.time(), 0), b""
        finally:
            conn.close()
        return Attempt(start, time.time(), resp.status), data


def _retryable(status: int) -> bool:
    return status == 0 or status == 429 or status >= 500


# -- sinks that note who was told of which offer ---------------------------------------

class OfferLog:
    """Every offer alert that arrived: (channel, reference, officer id, time.time())."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: list[tuple[str, str, str, float]] = []

    def note(self, channel: str, reference: str, officer: str, at: float) -> None:
        with self._lock:
            self.entries.append((channel, reference, officer, at))

    def snapshot(self) -> list[tuple[str, str, str, float]]:
        with self._lock:
            return list(self.entries)

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()

    def references(self, channel: str) -> set[str]:
        return {ref for ch, ref, _, _ in self.snapshot() if ch == channel}


class OfferMailSink(MailSink):
    """A real SMTP server noting each offer email (the officer from its recipient)."""

    def __init__(self, offers: OfferLog) -> None:
        super().__init__()
        self.offers = offers

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        at = time.time()
        message = message_from_bytes(envelope.content)
        subject = message.get("Subject") or ""
        found = REFERENCE.search(subject)
        if found and "offered to you" in subject:
            for rcpt in envelope.rcpt_tos:
                self.offers.note("email", found.group(0), str(rcpt).split("@", 1)[0], at)
        return "250 OK"


class _OfferRequests(list[dict[str, Any]]):
    """HttpSink's request list, noting each offer webhook (the officer from its path)."""

    def __init__(self, offers: OfferLog) -> None:
        super().__init__()
        self.offers = offers

    def append(self, item: dict[str, Any]) -> None:
        at = time.time()
        try:
            body = json.loads(item["body"])
        except ValueError:
            return
        if body.get("kind") == "offer" and body.get("reference"):
            officer = str(item["path"]).rstrip("/").rsplit("/", 1)[-1]
            self.offers.note("webhook", body["reference"], officer, at)


def offer_http_sink(offers: OfferLog) -> HttpSink:
    sink = HttpSink(SECRET)
    sink.requests = _OfferRequests(offers)
    return sink


# -- one round ---------------------------------------------------------------------------

@dataclass
class RoundResult:
    mode: str
    kill: str
    acknowledged: int
    present: int
    routed: int
    lost: int
    duplicate_offers: int      # cases offered twice, `erased_offers` included
    erased_offers: int         # offers of a case the failover erased (see _count)
    intake_recovery_s: float | None
    worker_recovery_s: float | None
    alert_recovery_s: float | None
    failover_s: float | None
    ack_latency_before_kill: dict[str, Any]
    details: dict[str, Any]
    before_kill_s: list[float] = field(default_factory=list, repr=False)  # raw, not saved

    @property
    def recovered(self) -> bool:
        return all(v is not None and v <= RECOVERY_TARGET_S
                   for v in (self.intake_recovery_s, self.worker_recovery_s))

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self) | {"recovered": self.recovered}
        del out["before_kill_s"]
        return out


class Stack:
    """Intake, two routers, a notifier and beat on one Sentinel cluster, plus the sinks."""

    def __init__(self, plan: Plan, tmp: Path) -> None:
        self.plan, self.tmp = plan, tmp
        # With the replica behind a proxy of ours, the Sentinels would point it back at the
        # master after failover-timeout; 30 s keeps the proxy in place for the round.
        self.cluster = SentinelCluster(tmp / "cluster", replicas=plan.replicas,
                                       appendfsync="always" if plan.mode == "fsync" else
                                       "everysec",
                                       failover_timeout_ms=30_000 if plan.lag_round else 5000)
        self.lag_proxy: FreezingProxy | None = None
        self.offers = OfferLog()
        self.mail = OfferMailSink(self.offers)
        self.http = offer_http_sink(self.offers)
        self.routers: list[CeleryProcess] = []
        self.others: list[CeleryProcess] = []
        self.intake_url = ""
        self._exit = contextlib.ExitStack()
        self.store: Store | None = None
        self.sentinel_mode = plan.sentinel and sentinel_support()

    def env(self, **extra: str) -> dict[str, str]:
        """One process's settings (each process gets its own copy, as on its own machine)."""
        master = self.cluster.master_address()
        settings = {
            "LIAISON_SMTP_URL": self.mail.url, "LIAISON_WEBHOOK_SECRET": SECRET,
            "LIAISON_SWEEP_INTERVAL_SECONDS": str(self.plan.sweep_interval),
            "LIAISON_OUTBOX_GRACE_SECONDS": str(self.plan.outbox_grace),
            "LIAISON_NOTIFY_BACKOFF_SECONDS": "1",
            "LIAISON_DURABILITY": self.plan.mode,
            **(self.cluster.settings_env() if self.sentinel_mode else {}), **extra,
        }
        env = stack_env(f"redis://{master}/0", self.tmp, **settings)
        env["LIAISON_SECRET_KEY"] = self._secret
        env["LIAISON_SEALING_KEYS"] = self._sealing
        return env

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self) -> None:
        base = stack_env("redis://127.0.0.1:1/0", self.tmp)
        self._secret, self._sealing = base["LIAISON_SECRET_KEY"], base["LIAISON_SEALING_KEYS"]
        self.cluster.start()
        self._exit.callback(self.cluster.stop)
        self.mail.start()
        self._exit.callback(self.mail.stop)
        self.http.start()
        self._exit.callback(self.http.stop)
        self.store = Store(self.master_client(), prefix="liaison:")
        if not common._REDIS_VERSION:  # for the results' machine facts
            common._REDIS_VERSION.append(str(self.store.redis.info("server")["redis_version"]))
        workload.roster(self.store, self.plan.officers_per_district, capacity=100_000,
                        mail_domain=MAIL_DOMAIN, webhook_url=self.http.url)
        self.routers = [
            CeleryProcess.worker("services.router.celery_app", "route,sweep", self.env(),
                                 self.tmp, concurrency=2, name=f"router{i}")
            for i in (1, 2)]
        self.others = [
            CeleryProcess.worker("services.notifier.celery_app", "notify", self.env(), self.tmp,
                                 concurrency=2, name="notifier"),
            CeleryProcess.beat("services.router.celery_app", self.env(), self.tmp),
        ]
        for proc in [*self.routers, *self.others]:
            self._exit.callback(proc.stop)
        # Started side by side (each waits for its own "ready"); two cores, so this halves
        # the set-up of a round.
        with ThreadPoolExecutor(4) as pool:
            for future in [pool.submit(p.start, 60.0) for p in [*self.routers, *self.others]]:
                future.result()
        run = contextlib.contextmanager(run_web)
        self.intake_url = self._exit.enter_context(run(
            "services.intake.app:create_app()", self.env(), self.tmp, workers=2, threads=4))

    def master_client(self) -> redis.Redis:
        """A client that finds the master through the Sentinels (as the services do)."""
        sentinel = Sentinel([_host_port(a) for a in self.cluster.sentinels],
                            socket_timeout=2.0, socket_connect_timeout=1.0)
        client: redis.Redis = sentinel.master_for(
            self.cluster.master_name, decode_responses=True, socket_timeout=5.0,
            socket_connect_timeout=1.0)
        for each in [*sentinel.sentinels, client]:
            self._exit.callback(each.close)
        return client

    def __exit__(self, *exc: object) -> None:
        # Stop the services side by side (each may take a few seconds), then the cluster.
        procs = [*self.routers, *self.others]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda p: p.stop(15.0), procs))
        self._exit.close()


def _host_port(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


def run_round(plan: Plan, tmp: Path | None = None) -> RoundResult:
    """Start a fresh stack, load it, kill what the plan says mid-load, and count."""
    tmp = tmp or new_tmp(f"failover-{plan.mode}-{plan.kill.replace('+', '-')}")
    count = int(plan.rate * (plan.kill_at + plan.after_kill_max + 1))
    bodies = workload.report_bodies(count)
    with Stack(plan, tmp) as stack:
        _warm(stack)
        if plan.lag_round:
            _replicate_through_proxy(stack)
        client = RetryingClient(stack.intake_url + "/api/v1/reports", bodies, plan.rate,
                                f"drill-{plan.mode}-{plan.kill.replace('+', '-')}-"
                                f"{int(time.time())}")
        client.start()
        disturbed_at = client.started + plan.kill_at - (plan.lag if plan.lag_round else 0.0)
        _sleep_until(disturbed_at)
        if stack.lag_proxy is not None:
            stack.lag_proxy.freeze()  # the replica stops hearing from the master
            _sleep_until(client.started + plan.kill_at)
        killed_at, old, failover_s = _kill(stack, plan)
        deadline = killed_at + plan.after_kill_max
        intake_s = worker_s = None
        restarted: dict[str, float] | None = None
        while time.time() < deadline:
            if plan.restart_after is not None and restarted is None \
                    and time.time() >= killed_at + plan.restart_after:
                restarted = _restart(stack, plan, old, killed_at)
            intake_s = intake_s or _intake_recovery(client, killed_at)
            worker_s = worker_s or _worker_recovery(stack, killed_at)
            since = time.time() - killed_at
            if since >= plan.after_kill_min and intake_s is not None and worker_s is not None \
                    and since >= max(intake_s, worker_s) + plan.after_recovery:
                break
            time.sleep(0.5)
        load_s = time.time() - client.started
        client.stop_new()
        log("failover: %s/%s: load stopped after %.0f s (%d reports); settling",
            plan.mode, plan.kill, load_s, len(client.submissions))
        settle_until = time.time() + plan.settle
        while time.time() < settle_until and client.outstanding():
            time.sleep(0.2)
        client.close()
        _wait_routed(stack, client, settle_until)
        result = _count(stack, client, plan, killed_at, failover_s, load_s, disturbed_at)
        result.details["restarted_after_kill_s"] = restarted
        return result


def _warm(stack: Stack) -> None:
    """A few reports end to end before the clock starts (imports, connections, officers)."""
    bodies = workload.report_bodies(5)
    client = RetryingClient(stack.intake_url + "/api/v1/reports", bodies, 10.0,
                            f"warm-{int(time.time())}").start()
    deadline = time.time() + 30
    while time.time() < deadline and client.outstanding() + (len(bodies) -
                                                              len(client.submissions)):
        time.sleep(0.1)
    client.close()
    refs = {s.reference for s in client.submissions if s.reference}
    while time.time() < deadline and not refs <= stack.offers.references("email"):
        time.sleep(0.1)
    if not refs or not refs <= stack.offers.references("email"):
        raise RuntimeError(f"the stack did not route and alert {len(bodies)} warm-up reports "
                           f"in 30 s (logs under {stack.tmp})")
    stack.offers.clear()


def _sleep_until(at: float) -> None:
    while (left := at - time.time()) > 0:
        time.sleep(min(left, 0.2))


def _kill(stack: Stack, plan: Plan) -> tuple[float, Node, float | None]:
    """SIGKILL the master (and a router) now; returns when, the node, and how long the
    Sentinels took to agree on a new master."""
    old = stack.cluster.kill_master()
    killed_at = time.time()  # after the SIGKILL (finding the master takes a moment)
    if plan.kill == "master+router":
        stack.routers[0].kill()
    if stack.lag_proxy is not None:
        stack.lag_proxy.close()  # what the replica had not received is gone with the master
    log("failover: %s/%s: SIGKILLed %s%s", plan.mode, plan.kill, old.address,
        " and router1" if plan.kill == "master+router" else "")
    try:
        failover_s: float | None = stack.cluster.wait_for_failover(old, timeout=25.0)
    except TimeoutError:
        failover_s = None
    return killed_at, old, failover_s


def _replicate_through_proxy(stack: Stack, timeout: float = 20.0) -> None:
    """Point the replica at the master through a proxy the drill can hold up, and wait
    until the link is up and the replica has caught up."""
    master = stack.cluster.master()
    replica = stack.cluster.replicas()[0]  # the first in line (one replica unless --replicas)
    proxy = FreezingProxy(master.port)
    stack.lag_proxy = proxy
    stack._exit.callback(proxy.close)
    client = stack.cluster.client(replica, timeout=2.0)
    writer = stack.cluster.client(master, timeout=2.0)
    try:
        client.replicaof("127.0.0.1", proxy.port)
        deadline = time.time() + timeout
        while time.time() < deadline:
            info = client.info("replication")
            if int(info.get("master_port", 0)) == proxy.port \
                    and info.get("master_link_status") == "up":
                writer.set("liaison:drill:probe", "1")
                if writer.wait(1, 2000) == 1:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"the replica did not sync through the proxy in {timeout} s")
    finally:
        client.close()
        writer.close()


def _restart(stack: Stack, plan: Plan, old: Node, killed_at: float) -> dict[str, float]:
    """Start what was killed again, as its supervisor would: the Redis node (in this thread:
    it dies with the thread that started it) rejoins as a replica; the router in the
    background. Returns seconds after the kill at which each was back."""
    back: dict[str, float] = {}
    if plan.kill == "master+router":
        dead = stack.routers[0]
        again = CeleryProcess(dead.app_module, dead.command, stack.env(), stack.tmp)
        stack.routers.append(again)

        def start_router() -> None:
            try:
                again.start(60.0)
                back["router1"] = round(time.time() - killed_at, 1)
            except (Exception, pytest.fail.Exception) as exc:
                log("failover: router1 did not start again: %s", exc)

        threading.Thread(target=start_router, daemon=True).start()
    try:
        stack.cluster.restart(old, timeout=20.0)
        back["redis"] = round(time.time() - killed_at, 1)
    except (RuntimeError, TimeoutError) as exc:
        log("failover: %s did not rejoin: %s", old.address, exc)
    log("failover: %s/%s: restarted %s", plan.mode, plan.kill, back)
    return back


def _intake_recovery(client: RetryingClient, killed_at: float) -> float | None:
    """Seconds from the kill to the first 201 for a POST sent after it."""
    with client._cond:
        ends = [a.end for s in client.submissions for a in s.attempts
                if a.status == 201 and a.start >= killed_at]
    return round(min(ends) - killed_at, 1) if ends else None


def _worker_recovery(stack: Stack, killed_at: float) -> float | None:
    """Seconds from the kill to the first case offered after it: the first CaseOffered in
    the `events` stream (written by the router's assignment script) at or after the kill."""
    assert stack.store is not None
    try:
        entries = stack.store.redis.xrange("liaison:events", min=f"{int(killed_at * 1000)}-0",
                                           count=2000)
    except redis.RedisError:
        return None
    for _, fields in entries:
        if fields.get("type") == "CaseOffered" and float(fields.get("at", 0)) >= killed_at:
            return round(float(fields["at"]) - killed_at, 1)
    return None


def _wait_routed(stack: Stack, client: RetryingClient, until: float) -> None:
    """Until every acknowledged report that is present is offered and alerted (bounded)."""
    while time.time() < until:
        states = _states(stack, [s.reference for s in client.submissions if s.acked])
        present = [st for st in states.values() if st is not None]
        alerted = stack.offers.references("email") & stack.offers.references("webhook")
        if all(st["state"] in ROUTED_STATES for st in present) and \
                all(ref in alerted for ref, st in states.items() if st is not None):
            return
        time.sleep(0.5)


def _states(stack: Stack, refs: Sequence[str]) -> dict[str, dict[str, Any] | None]:
    """reference -> {"id", "state", "officer", "log"} or None when the store lacks it."""
    assert stack.store is not None
    out: dict[str, dict[str, Any] | None] = {}
    for ref in refs:
        for attempt in range(10):
            try:
                case_id = stack.store.cases.id_for_reference(ref)
                case = stack.store.cases.get(case_id) if case_id else None
                break
            except Exception:  # the store briefly unreachable: ask again
                if attempt == 9:
                    raise
                time.sleep(0.5)
        out[ref] = None if not case else {
            "id": case_id, "state": case.get("state", ""), "officer": case.get("officer", "")}
    return out


def _count(stack: Stack, client: RetryingClient, plan: Plan, killed_at: float,
           failover_s: float | None, load_s: float, disturbed_at: float) -> RoundResult:
    assert stack.store is not None
    subs = client.submissions
    acked = [s for s in subs if s.acked]
    states = _states(stack, [s.reference for s in acked])
    present = {ref: st for ref, st in states.items() if st is not None}
    lost = [s for s in acked if states.get(s.reference) is None]
    routed = [ref for ref, st in present.items() if st["state"] in ROUTED_STATES]

    # Who was told of which case: the sinks (ground truth of what officers heard), checked
    # against the store's offers and the case's own log.
    offers = stack.offers.snapshot()
    told: dict[str, set[str]] = defaultdict(set)
    repeats: Counter[tuple[str, str, str]] = Counter()
    for channel, ref, officer, _ in offers:
        told[ref].add(officer)
        repeats[(channel, ref, officer)] += 1
    alerted_states = _states(stack, sorted(told))
    two_officers: list[dict[str, Any]] = []
    two_live: list[dict[str, Any]] = []
    repeated: list[dict[str, Any]] = []
    reoffered: list[dict[str, Any]] = []
    erased: list[dict[str, Any]] = []
    lost_but_told: list[str] = []
    acked_refs = {s.reference for s in acked}
    for ref, officers in told.items():
        st = alerted_states.get(ref)
        if st is None and ref in acked_refs:
            lost_but_told.append(ref)  # a lost case (counted as lost) that an officer heard of
        elif st is None:
            # An officer was told of a case the failover then erased (made and offered on
            # the old master, never replicated, so never acknowledged): the partner's retry
            # made the report again and it was offered again under a new reference.
            erased.append({"reference": ref, "told": sorted(officers)})
        log_entries = stack.store.cases.log(st["id"]) if st else []
        ended = [e for e in log_entries if e.get("type") in OFFER_ENDED]
        offered_events = [e for e in log_entries if e.get("type") == "CaseOffered"]
        holders = set(officers)
        if st and st["state"] in ROUTED_STATES and st["officer"]:
            holders.add(st["officer"])
        if len(holders) > 1:
            (reoffered if ended else two_officers).append(
                {"reference": ref, "told": sorted(officers),
                 "store_officer": st["officer"] if st else None,
                 "store_state": st["state"] if st else "absent"})
        if len(offered_events) - len(ended) > 1:
            two_live.append({"reference": ref, "offers": len(offered_events),
                             "ended": len(ended)})
    for (channel, ref, officer), n in repeats.items():
        if n > 1:
            repeated.append({"reference": ref, "officer": officer, "channel": channel,
                             "times": n})
    duplicates = {d["reference"] for d in [*two_officers, *two_live, *repeated, *erased]}

    before = [a.end - a.start for s in subs for a in s.attempts
              if a.status == 201 and a.end < disturbed_at]
    intake_s = _intake_recovery(client, killed_at)
    worker_s = _worker_recovery(stack, killed_at)
    after = sorted(at for _, _, _, at in offers if at >= killed_at)
    alert_s = round(after[0] - killed_at, 1) if after else None
    statuses = Counter(str(a.status) for s in subs for a in s.attempts)
    gave_up = [s for s in subs if not s.acked]
    result = RoundResult(
        mode=plan.mode, kill=plan.kill, acknowledged=len(acked), present=len(present),
        routed=len(routed), lost=len(lost), duplicate_offers=len(duplicates),
        erased_offers=len(erased),
        intake_recovery_s=intake_s, worker_recovery_s=worker_s, alert_recovery_s=alert_s,
        failover_s=round(failover_s, 1) if failover_s is not None else None,
        ack_latency_before_kill=summarise(before),
        details={
            "reports_sent": len(subs), "not_acknowledged": len(gave_up),
            "not_acknowledged_last_status": dict(Counter(str(s.status) for s in gave_up)),
            "attempt_statuses": dict(statuses),
            "retried_reports": sum(1 for s in subs if len(s.attempts) > 1),
            "acknowledged_by_replay_200": sum(1 for s in acked if s.status == 200),
            "load_seconds": round(load_s, 1), "kill_after_s": plan.kill_at,
            "replication_held_s": plan.lag if plan.lag_round else 0.0,
            "acknowledged_while_replication_held": sum(
                1 for s in acked if s.acked_at is not None
                and disturbed_at <= s.acked_at < killed_at) if plan.lag_round else 0,
            "unrouted_present": len(present) - len(routed),
            "unrouted_states": dict(Counter(st["state"] for st in present.values()
                                            if st["state"] not in ROUTED_STATES)),
            "not_acknowledged_examples": [
                {"key": s.key, "attempts": [[round(a.start - killed_at, 2),
                                             round(a.end - a.start, 2), a.status]
                                            for a in s.attempts]}
                for s in gave_up[:5]],
            "lost_but_an_officer_was_alerted": len(lost_but_told),
            "lost_examples": [{"key": s.key, "reference": s.reference,
                               "acked_at_minus_kill_s": round((s.acked_at or 0) - killed_at, 2)}
                              for s in lost[:10]],
            "offer_alerts": {"email": sum(1 for o in offers if o[0] == "email"),
                             "webhook": sum(1 for o in offers if o[0] == "webhook")},
            "duplicates": {"offered_to_two_officers": two_officers[:20],
                           "two_live_offers_in_store": two_live[:20],
                           "alerted_twice_to_one_officer": repeated[:20],
                           "offers_of_erased_cases": erased[:20],
                           "reoffered_after_offer_ended": len(reoffered)},
            "sentinel_settings": stack.sentinel_mode,
            "logs": str(stack.tmp),
        },
        before_kill_s=before,
    )
    log("failover: %s/%s: acked %d, present %d, routed %d, lost %d, duplicates %d "
        "(%d of erased cases), intake back %s s, workers back %s s", plan.mode, plan.kill,
        result.acknowledged, result.present, result.routed, result.lost,
        result.duplicate_offers, result.erased_offers, result.intake_recovery_s,
        result.worker_recovery_s)
    return result


# -- the drill: every mode and round ------------------------------------------------------

def run(options: Options, *, modes: Sequence[str] = MODES, rounds: Sequence[str] = ROUNDS,
        restart_after: float | None = 5.0, replicas: int = 1) -> Outcome:
    """Every durability mode x round (--quick: replicated, master kill, shorter)."""
    if options.quick:
        plans = [Plan(mode="replicated", kill="master", rate=10.0, kill_at=5.0,
                      after_kill_min=8.0, after_recovery=4.0, restart_after=restart_after)]
    else:
        plans = [Plan(mode=mode, kill=kill, restart_after=restart_after, replicas=replicas)
                 for mode in modes for kill in rounds]
    results = []
    for plan in plans:
        log("failover: round %s / %s at %.0f reports/s", plan.mode, plan.kill, plan.rate)
        results.append(run_round(plan))
    return _outcome(plans, results)


def _outcome(plans: list[Plan], rounds: list[RoundResult]) -> Outcome:
    by_mode: dict[str, list[RoundResult]] = defaultdict(list)
    for r in rounds:
        by_mode[r.mode].append(r)
    cost = {}
    for mode, rs in by_mode.items():
        samples = [v for r in rs for v in r.before_kill_s]
        cost[mode] = summarise(samples) if samples else rs[0].ack_latency_before_kill
    recoveries = [v for r in rounds for v in (r.intake_recovery_s, r.worker_recovery_s)]
    worst = None if any(v is None for v in recoveries) else max(v for v in recoveries
                                                               if v is not None)
    replicated = by_mode.get("replicated", [])
    rep_lost = sum(r.lost for r in replicated)
    rep_dup = sum(r.duplicate_offers for r in replicated)
    met = bool(rounds) and all(r.recovered for r in rounds) and bool(replicated) \
        and rep_lost == 0 and rep_dup == 0
    base = cost.get("async", {})
    rep = cost.get("replicated", {})
    ratio = round(rep["p99_ms"] / base["p99_ms"], 2) \
        if rep.get("p99_ms") and base.get("p99_ms") else None
    others = ", ".join(f"{m}: {sum(r.lost for r in by_mode[m])} lost, "
                       f"{sum(r.duplicate_offers for r in by_mode[m])} dup"
                       for m in by_mode if m != "replicated")
    measured = (f"recovery ≤ {'never' if worst is None else f'{worst:.0f} s'}; replicated: "
                f"{rep_lost} lost, {rep_dup} dup offers"
                + (f" ({others})" if others else "")
                + (f"; ack p99 {rep.get('p99_ms')} ms" if rep else ""))
    limits = []
    for r in rounds:
        if not r.recovered:
            limits.append(f"{r.mode}/{r.kill}: intake back after {r.intake_recovery_s} s, "
                          f"workers after {r.worker_recovery_s} s (None: not within "
                          f"{plans[0].after_kill_max:.0f} s).")
        if r.mode == "replicated" and (r.lost or r.duplicate_offers):
            limits.append(f"{r.mode}/{r.kill}: {r.lost} acknowledged reports lost, "
                          f"{r.duplicate_offers} duplicate offers (see results.rounds).")
    return Outcome(
        name="failover", title="Failover drill: master SIGKILLed under load",
        measured=measured,
        baseline=(f"async ack p50 {base.get('p50_ms')} / p99 {base.get('p99_ms')} ms"
                  if base else "n/a"),
        ratio=ratio,
        target=f"recovery ≤ {RECOVERY_TARGET_S:.0f} s; replicated: 0 lost, 0 dup",
        met=met,
        parameters={
            "plans": [asdict(p) for p in plans],
            "topology": f"1 master + {plans[0].replicas} replica(s) + 3 Sentinels (quorum 2, "
                        "down-after 1 s); "
                        "intake gunicorn 2x4; 2 routers (-Q route,sweep, -c 2); notifier "
                        "(-c 2); beat",
            "client": "retries 503/5xx/429/connection errors with the same Idempotency-Key: "
                      "0.5 s doubling to 5 s, jitter ±20%",
            "ratio": "replicated ack p99 / async ack p99 (before the kill)",
        },
        results={"rounds": [r.as_dict() for r in rounds], "ack_latency_by_mode": cost},
        limits=limits,
    )


def table(rounds: Sequence[dict[str, Any]], cost: dict[str, Any]) -> str:
    """The per-mode, per-round Markdown table (for the README's Failover drill section)."""
    rows = ["| mode | kill | acknowledged | present | routed | lost | duplicate offers | "
            "intake back (s) | workers back (s) | ack p50 / p99 (ms) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rounds:
        c = cost.get(r["mode"], {})
        rows.append(
            f"| {r['mode']} | {r['kill']} | {r['acknowledged']} | {r['present']} | "
            f"{r['routed']} | {r['lost']} | {r['duplicate_offers']}"
            f"{f' ({e} erased)' if (e := r.get('erased_offers')) else ''} | "
            f"{_num(r['intake_recovery_s'])} | {_num(r['worker_recovery_s'])} | "
            f"{_num(c.get('p50_ms'))} / {_num(c.get('p99_ms'))} |")
    return "\n".join(rows) + "\n"


def _num(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:g}" if isinstance(value, float) else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.failover",
                                     description="The failover drill (make drill).")
    parser.add_argument("--quick", action="store_true",
                        help="one short round (replicated, master kill); results in "
                             "bench/results/tmp/quick")
    parser.add_argument("--modes", default=",".join(MODES),
                        help="comma-separated durability modes (default: all)")
    parser.add_argument("--rounds", default=",".join(ROUNDS),
                        help="comma-separated rounds (default: all)")
    parser.add_argument("--no-restart", action="store_true",
                        help="leave the killed processes dead (no supervisor); results in "
                             "bench/results/tmp/failover-no-restart")
    parser.add_argument("--replicas", type=int, default=1,
                        help="Redis replicas under the master (default 1)")
    args = parser.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    rounds = [r for r in args.rounds.split(",") if r]
    if set(modes) - set(MODES) or set(rounds) - set(ROUNDS):
        parser.error(f"modes are {', '.join(MODES)}; rounds are {', '.join(ROUNDS)}")
    partial = args.quick or args.no_restart or modes != list(MODES) \
        or rounds != list(ROUNDS) or args.replicas != 1
    results = QUICK_DIR if args.quick else RESULTS_DIR
    if partial and not args.quick:  # never overwrite the full drill's results
        results = TMP_DIR / ("failover-no-restart" if args.no_restart else "failover-some")
    options = Options(quick=args.quick, results_dir=results)
    started, watch = time.time(), MachineWatch()
    try:
        outcome = run(options, modes=modes, rounds=rounds,
                      restart_after=None if args.no_restart else 5.0, replicas=args.replicas)
    except (Exception, pytest.fail.Exception):
        log("failover: could not run:\n%s", traceback.format_exc())
        return 1
    if outcome.met:
        remove_scratch()  # otherwise keep every process's log (results name the directory)
    path = write_result(options, outcome, started, watch.stop())
    log("failover: %s (%.0f s) -> %s", "met" if outcome.met else "MISSED",
        time.time() - started, path)
    print(table(outcome.results["rounds"], outcome.results["ack_latency_by_mode"]))
    for note in outcome.limits:
        print(f"- {note}")
    return 0 if outcome.met else 2


if __name__ == "__main__":
    sys.exit(main())

"""Prometheus metrics for the web apps: `install_metrics(app, service=..., state=...)`.

Two kinds of numbers on `GET /metrics` (Prometheus text format, or OpenMetrics when the
scraper asks for it), and each family comes from one service only:

* Request metrics, on intake and console, counted in each process by before/after-request
  hooks: `liaison_http_requests_total{service,method,endpoint,status}` and
  `liaison_http_request_duration_seconds{service,endpoint}`. `endpoint` is the URL rule
  (`/api/v1/reports`, `unmatched` for 404s), never the raw path; `/metrics`, `/healthz` and
  `/readyz` are not counted.
* The state of the work, on the console only (the staff and operations side; intake
  passes no `state`), read from Redis at scrape time by `StateCollector` so that every
  process reports the same truth and nothing is counted in workers. The result is cached
  for `CACHE_SECONDS`; when Redis does not answer, `/metrics` still answers with the
  request metrics and `liaison_redis_up 0` (`liaison_broker_up 0` for the broker).
  - gauges of now: `liaison_cases_open{state,district}`, `liaison_cases_waiting{district,
    priority}`, `liaison_cases_oldest_wait_seconds{district,priority}`;
  - counters that outlive every restart, from the `counters` hash each event is counted in
    (shared/store/counters.py): `liaison_cases_received_total{kind,priority}`,
    `liaison_cases_offered_total`, `liaison_offers_total{outcome}`,
    `liaison_cases_closed_total{priority}`, `liaison_notifications_total{kind,outcome}`
    (kind, not channel: a notification's outcome is recorded once, for all its channels),
    `liaison_dead_letters_total{kind}`;
  - Celery's queues in the broker's Redis (shared/broker_queues.py), for each queue of
    `shared.messaging`: `liaison_queue_messages_ready{queue}`,
    `liaison_queue_messages_unacked{queue}` (kombu's one `unacked` hash, told apart by
    each message's routing key) and their sum `liaison_queue_messages{queue}`;
  - signs of life, as Unix times (Prometheus' advice: a timestamp, not an age):
    `liaison_worker_last_seen_timestamp_seconds{worker}` (the newest event only that kind
    of worker writes, within the last hour; no sample when none) and
    `liaison_timers_earliest_due_timestamp_seconds` (the sweeper's earliest timer; one
    long past due means no sweeper runs; no sample when no timer is set);
  - `liaison_redis_up`, `liaison_broker_up` and `liaison_stats_truncated{source}` (a
    bounded read was cut short: the numbers are too low).

Scraping gunicorn (several worker processes): set `PROMETHEUS_MULTIPROC_DIR` to an empty
directory, one per service (intake and console apart, or each reports the other's requests
too), wiped before each start, e.g. `PROMETHEUS_MULTIPROC_DIR=/tmp/liaison/metrics-intake`.
prometheus-client reads the variable itself when it is first imported: each worker then
writes its counters to files there and whichever worker answers a scrape adds them all up.
Without it every worker counts on its own and a scrape sees only the worker that answered,
so counters jump about — fine only for a single process (`--workers 1`, `flask run`).
Process metrics (`process_*`, `python_*`) are reported in single-process mode only. No
gunicorn `child_exit` hook is needed: there are no live gauges, and a dead worker's
counts stay in the totals, as counters should.

`/metrics` is for the operator's Prometheus only. With `LIAISON_METRICS_TOKEN` set it
answers only requests carrying `Authorization: Bearer <token>` (compared in constant time;
401 otherwise), from any address. Without a token it is a 404 in production, and in
development and test it answers loopback only (`request.remote_addr`: the client's address
as `shared.web.TrustedProxies` found it, so a forged `X-Forwarded-For` opens nothing).
Prometheus: `authorization: {credentials_file: ...}` in the scrape config.

Labels carry only district codes, priority names, case states and kinds, notification
kinds, outcomes, queue and worker names, URL rules, HTTP methods and status codes — never
anything a person typed. Every label value from Redis passes `safe_label`, so a stray
value becomes `other`.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

import redis
from flask import Flask, Response, abort, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from shared.broker_queues import BrokerQueues, QueueDepths, broker_client
from shared.domain.model import CaseKind, Priority
from shared.domain.notifications import Kind
from shared.domain.routing import FORCE_WIDE
from shared.messaging import TASK_QUEUES
from shared.store import Store, StoreUnavailable
from shared.store.counters import NOTIFICATION_OUTCOMES, OFFER_OUTCOMES, Totals
from shared.store.stats import OPEN_STATES, Snapshot
from shared.web import SETTINGS

if TYPE_CHECKING:
    from shared.bootstrap import Deps

logger = logging.getLogger(__name__)

EXTENSION = "liaison_metrics"
CACHE_SECONDS = 5.0
UNTRACKED = frozenset({"/metrics", "/healthz", "/readyz"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
QUEUES = tuple(dict.fromkeys(TASK_QUEUES.values()))  # route, notify, sweep: the contract's
DEAD_LETTER_KINDS = ("case", "notification")
_SAFE = re.compile(r"[a-z0-9][a-z0-9_]{0,39}\Z")


def safe_label(value: str) -> str:
    """A code-like label value as it is, anything else as `other` (no free text in labels)."""
    return value if _SAFE.match(value) else "other"


def multiprocess_mode() -> bool:
    """Whether prometheus-client chose multiprocess values (PROMETHEUS_MULTIPROC_DIR set)."""
    return values.ValueClass is not values.MutexValue


class RequestMetrics:
    """Request count and latency for one app, in `registry` (None: multiprocess files only)."""

    def __init__(self, service: str, registry: CollectorRegistry | None) -> None:
        self.service = service
        self.requests = Counter(
            "liaison_http_requests", "HTTP requests answered, by URL rule and status.",
            ["service", "method", "endpoint", "status"], registry=registry)
        self.duration = Histogram(
            "liaison_http_request_duration_seconds", "Time to answer an HTTP request.",
            ["service", "endpoint"], buckets=BUCKETS, registry=registry)

    def observe(self, method: str, endpoint: str, status: int, seconds: float | None) -> None:
        method = method if method in METHODS else "other"
        self.requests.labels(self.service, method, endpoint, str(status)).inc()
        if seconds is not None:
            self.duration.labels(self.service, endpoint).observe(seconds)


class StateCollector(Collector):
    """Cases, counters, signs of life and Celery queues from Redis, read at most every few
    seconds. `broker`: the Celery broker's queues (None: no queue metrics)."""

    def __init__(self, store: Store, *, broker: BrokerQueues | None = None,
                 clock: Callable[[], float] = time.time,
                 cache_seconds: float = CACHE_SECONDS) -> None:
        self._store = store
        self._broker = broker
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()  # one read at a time; concurrent scrapes share it
        self._cached: list[Metric] = []
        self._expires = 0.0

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            if time.monotonic() >= self._expires:
                self._cached = self._read()
                self._expires = time.monotonic() + self._cache_seconds
            return list(self._cached)

    def _read(self) -> list[Metric]:
        truncated: dict[str, bool] = {}
        found: list[Metric] = []
        snapshot = _attempt("redis", self._store.stats.snapshot, now=self._clock())
        found.append(_up("liaison_redis_up", "1 when the store's Redis answered the last read.",
                         snapshot is not False))
        if isinstance(snapshot, Snapshot):
            found += state_families(snapshot)
            truncated["cases"] = snapshot.cases.truncated
        if self._broker is not None:
            depths = _attempt("broker", self._broker.read, QUEUES)
            found.append(_up("liaison_broker_up",
                             "1 when the Celery broker's Redis answered the last read.",
                             depths is not False))
            if isinstance(depths, QueueDepths):
                found += queue_families(depths)
                truncated["unacked"] = depths.truncated
        if truncated:
            family = GaugeMetricFamily(
                "liaison_stats_truncated",
                "1 when a bounded read was cut short (numbers are too low).", labels=["source"])
            for source, cut in sorted(truncated.items()):
                family.add_metric([source], int(cut))
            found.append(family)
        return found


def _attempt(what: str, read: Callable[..., object], *args: object,
             **kwargs: object) -> object:
    """The read's result; False when Redis did not answer; None when it answered an error."""
    try:
        return read(*args, **kwargs)
    except StoreUnavailable as exc:
        logger.warning("metrics: redis unavailable", extra={"source": what, "error": str(exc)})
        return False
    except redis.RedisError as exc:
        logger.error("metrics: stats read failed",
                     extra={"source": what, "error": type(exc).__name__})
        return None


def _up(name: str, documentation: str, up: bool) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], int(up))
    return family


def state_families(snap: Snapshot) -> list[Metric]:
    """The snapshot as metrics, with a zero for every known district, priority and outcome."""
    districts = sorted({*map(safe_label, snap.districts), FORCE_WIDE})
    priorities = [p.label for p in Priority]

    open_cases = GaugeMetricFamily("liaison_cases_open", "Open cases by state and district.",
                                   labels=["state", "district"])
    _add(open_cases, {(s, d): 0 for s in OPEN_STATES for d in districts},
         {(safe_label(s), safe_label(d)): n for (s, d), n in snap.cases.open.items()})

    waiting = GaugeMetricFamily("liaison_cases_waiting",
                                "Cases waiting for an officer, by district and priority.",
                                labels=["district", "priority"])
    oldest = GaugeMetricFamily("liaison_cases_oldest_wait_seconds",
                               "How long the longest-waiting case has waited.",
                               labels=["district", "priority"])
    zeros: dict[tuple[str, ...], float] = {(d, p): 0.0 for d in districts for p in priorities}
    counts, ages = dict(zeros), dict(zeros)
    for (district, priority), stat in snap.cases.waiting.items():
        key = (safe_label(district), _priority(priority))
        counts[key] = counts.get(key, 0) + stat.count
        ages[key] = max(ages.get(key, 0.0), stat.oldest_seconds)
    _add(waiting, counts, {})
    _add(oldest, ages, {})

    seen = GaugeMetricFamily(
        "liaison_worker_last_seen_timestamp_seconds",
        "When each kind of worker last wrote an event only it writes (within the last hour).",
        labels=["worker"])
    for worker, at in sorted(snap.last_signs.items()):
        if at is not None:
            seen.add_metric([safe_label(worker)], at)
    due = GaugeMetricFamily("liaison_timers_earliest_due_timestamp_seconds",
                            "The earliest due time among the sweeper's timers (offer "
                            "deadlines, outboxes, rota changes).")
    if snap.earliest_due is not None:
        due.add_metric([], snap.earliest_due)
    return [open_cases, waiting, oldest, *counter_families(snap.totals), seen, due]


def counter_families(totals: Totals) -> list[Metric]:
    """The running totals as counters, zero for every known label value."""
    priorities = [p.label for p in Priority]
    received = CounterMetricFamily("liaison_cases_received", "Cases received.",
                                   labels=["kind", "priority"])
    _add(received, {(k.value, p): 0 for k in CaseKind for p in priorities},
         {(safe_label(k), _priority(p)): n for (k, p), n in totals.received.items()})
    offered = CounterMetricFamily(
        "liaison_cases_offered", "Offers made to officers (by routing, or a supervisor's "
        "reassignment).")
    offered.add_metric([], totals.offered)
    offers = CounterMetricFamily("liaison_offers", "How offers ended, by outcome.",
                                 labels=["outcome"])
    _add(offers, {(o,): 0 for o in OFFER_OUTCOMES.values()},
         {(safe_label(o),): n for o, n in totals.offers.items()})
    closed = CounterMetricFamily("liaison_cases_closed", "Cases closed, by priority.",
                                 labels=["priority"])
    _add(closed, {(p,): 0 for p in priorities},
         {(_priority(p),): n for p, n in totals.closed.items()})
    notes = CounterMetricFamily(
        "liaison_notifications", "Notification outcomes by kind (failed: an attempt failed "
        "and is retried; dead_lettered: given up).", labels=["kind", "outcome"])
    _add(notes, {(k.value, o): 0 for k in Kind for o in NOTIFICATION_OUTCOMES.values()},
         {(safe_label(k), safe_label(o)): n for (k, o), n in totals.notifications.items()})
    dead = CounterMetricFamily("liaison_dead_letters",
                               "Work given up on after its last attempt: cases routing could "
                               "not place, notifications that could not be delivered.",
                               labels=["kind"])
    _add(dead, {(k,): 0 for k in DEAD_LETTER_KINDS},
         {(safe_label(k),): n for k, n in totals.dead_letters.items()})
    return [received, offered, offers, closed, notes, dead]


def queue_families(depths: QueueDepths) -> list[Metric]:
    """Each Celery queue's ready and unacked messages, and their sum."""
    ready = GaugeMetricFamily("liaison_queue_messages_ready",
                              "Messages in a Celery queue waiting for a worker.",
                              labels=["queue"])
    unacked = GaugeMetricFamily("liaison_queue_messages_unacked",
                                "Messages a worker has taken from the queue and not yet "
                                "acknowledged.", labels=["queue"])
    total = GaugeMetricFamily("liaison_queue_messages",
                              "Messages in a Celery queue, ready and unacked.",
                              labels=["queue"])
    for queue in sorted(depths.ready):
        taken = depths.unacked.get(queue, 0)
        ready.add_metric([queue], depths.ready[queue])
        unacked.add_metric([queue], taken)
        total.add_metric([queue], depths.ready[queue] + taken)
    return [total, ready, unacked]


def _priority(value: int | str) -> str:
    try:
        return Priority(int(value)).label
    except ValueError:
        return "other"


def _add(family: GaugeMetricFamily | CounterMetricFamily,
         zeros: Mapping[tuple[str, ...], float], found: Mapping[tuple[str, ...], float]) -> None:
    """Add every series: known ones (zero if absent) and any others found, summed by labels."""
    totals = dict(zeros)
    for labels, value in found.items():
        totals[labels] = totals.get(labels, 0) + value
    for labels in sorted(totals):
        family.add_metric(list(labels), totals[labels])


def state_collector(deps: Deps) -> StateCollector:
    """The console's collector: the store, and the Celery queues when the broker is Redis."""
    client = broker_client(deps.settings, deps.store.redis)
    return StateCollector(deps.store, clock=deps.clock,
                          broker=BrokerQueues(client) if client is not None else None)


def install_metrics(app: Flask, *, service: str, state: Collector | None = None) -> None:
    """Count the app's requests and serve `/metrics`: the request metrics, and the state
    of the work when `state` is given (one service only, so no family is reported twice)."""
    multiprocess = multiprocess_mode()
    registry = None if multiprocess else CollectorRegistry()
    metrics = RequestMetrics(service, registry)
    if registry is not None:
        for make in (ProcessCollector, PlatformCollector, GCCollector):
            make(registry=registry)
        if state is not None:
            registry.register(state)

    def scrape_registry() -> CollectorRegistry:
        if registry is not None:
            return registry
        merged = CollectorRegistry()  # fresh per scrape, as prometheus-client requires
        MultiProcessCollector(merged)
        if state is not None:
            merged.register(state)
        return merged

    def start() -> None:
        g.metrics_started = time.perf_counter()

    def record(response: Response) -> Response:
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        if endpoint not in UNTRACKED:
            started = g.get("metrics_started")
            metrics.observe(request.method, endpoint, response.status_code,
                            None if started is None else time.perf_counter() - started)
        return response

    def serve() -> Response:
        settings = current_app.extensions.get(SETTINGS)
        token = settings.metrics_token if settings is not None else ""
        if token:
            if not bearer_matches(request.headers.get("Authorization", ""), token):
                return Response("a bearer token is required\n", status=401,
                                content_type="text/plain",
                                headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        elif settings is None or settings.production or not _loopback(request.remote_addr):
            abort(404)
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        return Response(encode(scrape_registry()), content_type=content_type)

    app.extensions[EXTENSION] = metrics
    app.before_request(start)
    app.after_request(record)
    app.add_url_rule("/metrics", "prometheus_metrics", serve, methods=["GET"])


def bearer_matches(header: str, token: str) -> bool:
    """Whether an `Authorization` header carries `Bearer <token>` (constant-time compare)."""
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode())


def _loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback

"""Prometheus metrics for the web apps: `install_metrics(app, store, service=...)`.

Two kinds of numbers, both on `GET /metrics` (Prometheus text format, or OpenMetrics when
the scraper asks for it):

* Request metrics, counted in each process by before/after-request hooks:
  `liaison_http_requests_total{service,method,endpoint,status}` and
  `liaison_http_request_duration_seconds{service,endpoint}`. `endpoint` is the URL rule
  (`/api/v1/reports`, `unmatched` for 404s), never the raw path; `/metrics`, `/healthz` and
  `/readyz` are not counted.
* The state of the work, read from Redis at scrape time by `StateCollector` (through
  `store.stats`), so every process reports the same truth and nothing is counted in workers.
  The result is cached for `CACHE_SECONDS`; when Redis does not answer, `/metrics` still
  answers with the request metrics and `liaison_redis_up 0`. Both intake and console report
  these, so dashboards aggregate them with `max`, not `sum`. Gauges:
  `liaison_cases_open{state,district}`, `liaison_cases_waiting{district,priority}`,
  `liaison_cases_oldest_wait_seconds{district,priority}`, and from the last 24 h of the
  `events` stream `liaison_offers_last_24h{outcome}`, `liaison_notifications_last_24h
  {outcome,kind}` (kind, not channel: the notifier's events do not name the channel),
  `liaison_cases_received_last_24h{district}`, `liaison_cases_closed_last_24h{district}`;
  plus `liaison_redis_up` and `liaison_stats_truncated{source}` (a bounded read was cut short).

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

`/metrics` is for the operator's Prometheus only: it answers requests from loopback and
private addresses (RFC 1918, IPv6 unique-local; `request.remote_addr`, so after ProxyFix
when trusted proxies are set) and is a 404 for anyone else, except in the test environment.
A reverse proxy on the same host makes every request look local, so the proxy must not pass
`/metrics` through (nginx: `location = /metrics { return 404; }`); scrape the app's port.

Labels carry only district codes, priority names, case states, notification kinds, outcomes,
URL rules, HTTP methods and status codes — never anything a person typed. Every label value
from Redis passes `safe_label`, so a stray value becomes `other`.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable

import redis
from flask import Flask, Response, abort, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from shared.domain.model import Priority
from shared.domain.notifications import Kind
from shared.domain.routing import FORCE_WIDE
from shared.store import Store, StoreUnavailable
from shared.store.stats import OPEN_STATES, Snapshot

logger = logging.getLogger(__name__)

EXTENSION = "liaison_metrics"
CACHE_SECONDS = 5.0
WINDOW_SECONDS = 24 * 3600
UNTRACKED = frozenset({"/metrics", "/healthz", "/readyz"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OFFER_OUTCOMES = ("offered", "accepted", "declined", "expired", "withdrawn")
NOTIFICATION_OUTCOMES = ("sent", "skipped", "failed", "dead_lettered")
_SAFE = re.compile(r"[a-z0-9][a-z0-9_]{0,39}\Z")
# Loopback, RFC 1918 and IPv6 unique-local: where a Prometheus server scrapes from.
INTERNAL_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7"))


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
    """Cases, queues, offers and notifications from Redis, read at most every few seconds."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time,
                 cache_seconds: float = CACHE_SECONDS,
                 window_seconds: float = WINDOW_SECONDS) -> None:
        self._store = store
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._window = window_seconds
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
        up = GaugeMetricFamily("liaison_redis_up", "1 when Redis answered the last stats read.")
        try:
            snapshot = self._store.stats.snapshot(now=self._clock(),
                                                  window_seconds=self._window)
        except StoreUnavailable:
            logger.warning("metrics: redis unavailable")
            up.add_metric([], 0)
            return [up]
        except redis.RedisError as exc:
            logger.error("metrics: stats read failed", extra={"error": type(exc).__name__})
            up.add_metric([], 1)
            return [up]
        up.add_metric([], 1)
        return [up, *state_families(snapshot)]


def state_families(snap: Snapshot) -> list[Metric]:
    """The snapshot as gauges, with a zero for every known district, priority and outcome."""
    districts = sorted({*map(safe_label, snap.districts), FORCE_WIDE})
    priorities = [p.label for p in Priority]
    hours = int(snap.events.window_seconds // 3600)

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

    window = f"in the last {hours} h of the events stream"
    offers = GaugeMetricFamily(f"liaison_offers_last_{hours}h", f"Offers by outcome {window}.",
                               labels=["outcome"])
    _add(offers, {(o,): 0 for o in OFFER_OUTCOMES},
         {(safe_label(o),): n for o, n in snap.events.offers.items()})

    notes = GaugeMetricFamily(
        f"liaison_notifications_last_{hours}h",
        f"Notification outcomes by kind {window} (the events carry the kind, not the channel).",
        labels=["outcome", "kind"])
    _add(notes, {(o, k.value): 0 for o in NOTIFICATION_OUTCOMES for k in Kind},
         {(safe_label(o), safe_label(k)): n for (o, k), n in snap.events.notifications.items()})

    received = GaugeMetricFamily(f"liaison_cases_received_last_{hours}h",
                                 f"Cases received by district {window}.", labels=["district"])
    closed = GaugeMetricFamily(f"liaison_cases_closed_last_{hours}h",
                               f"Cases closed by district {window}.", labels=["district"])
    for family, counter in ((received, snap.events.received), (closed, snap.events.closed)):
        _add(family, {(d,): 0 for d in districts},
             {(safe_label(d),): n for d, n in counter.items()})

    truncated = GaugeMetricFamily(
        "liaison_stats_truncated", "1 when a bounded read was cut short (numbers are too low).",
        labels=["source"])
    truncated.add_metric(["cases"], int(snap.cases.truncated))
    truncated.add_metric(["events"], int(snap.events.truncated))
    return [open_cases, waiting, oldest, offers, notes, received, closed, truncated]


def _priority(value: int) -> str:
    try:
        return Priority(value).label
    except ValueError:
        return "other"


def _add(family: GaugeMetricFamily, zeros: dict[tuple[str, ...], float],
         found: dict[tuple[str, ...], float]) -> None:
    """Add every series: known ones (zero if absent) and any others found, summed by labels."""
    totals = dict(zeros)
    for labels, value in found.items():
        totals[labels] = totals.get(labels, 0) + value
    for labels in sorted(totals):
        family.add_metric(list(labels), totals[labels])


def install_metrics(app: Flask, store: Store, *, service: str,
                    clock: Callable[[], float] = time.time) -> None:
    """Count the app's requests and serve `/metrics` (request and Redis-derived metrics)."""
    multiprocess = multiprocess_mode()
    registry = None if multiprocess else CollectorRegistry()
    metrics = RequestMetrics(service, registry)
    state = StateCollector(store, clock=clock)
    if registry is not None:
        for make in (ProcessCollector, PlatformCollector, GCCollector):
            make(registry=registry)
        registry.register(state)

    def scrape_registry() -> CollectorRegistry:
        if registry is not None:
            return registry
        merged = CollectorRegistry()  # fresh per scrape, as prometheus-client requires
        MultiProcessCollector(merged)
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
        if not (current_app.testing or _internal(request.remote_addr)):
            abort(404)
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        return Response(encode(scrape_registry()), content_type=content_type)

    app.extensions[EXTENSION] = metrics
    app.before_request(start)
    app.after_request(record)
    app.add_url_rule("/metrics", "prometheus_metrics", serve, methods=["GET"])


def _internal(address: str | None) -> bool:
    """Loopback or a private network (where Prometheus lives), never the internet."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in INTERNAL_NETWORKS if network.version == ip.version)

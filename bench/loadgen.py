"""An open-loop HTTP load generator: Python threads sending at planned times.

Request i is due at t0 + i/rate whatever happened to earlier ones, and its latency counts
from that planned time, so a slow server cannot slow the generator down and hide its own
queueing (coordinated omission). Loopback only; every run is bounded in count and time.
"""

from __future__ import annotations

import http.client
import itertools
import json
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from bench.common import percentile, summarise

REQUEST_TIMEOUT = 10.0   # seconds one request may take before it counts as failed
LATE_LIMIT = 10.0        # a request not started this long after its plan is dropped (failed)


@dataclass
class Sample:
    planned: float   # perf_counter() when the request was due
    start: float     # perf_counter() when it was sent
    end: float       # perf_counter() when the whole response was read
    status: int      # HTTP status, 0 when it failed or was dropped
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def latency(self) -> float:
        """Planned time to response, inf for a failure."""
        return self.end - self.planned if self.ok else math.inf

    @property
    def service(self) -> float:
        """Send to response, inf for a failure."""
        return self.end - self.start if self.ok else math.inf


@dataclass
class Run:
    rate: float
    duration: float
    samples: list[Sample]
    wall_offset: float  # add to a perf_counter() value to get time.time()

    def summary(self) -> dict[str, Any]:
        """Latency from the planned time, service time, send lag and achieved rates."""
        sent = [s for s in self.samples if s.status or s.start]
        ok = [s for s in self.samples if s.ok]
        span = (max(s.end for s in ok) - min(s.planned for s in ok)) if ok else math.nan
        return {
            "rate": self.rate, "duration_s": self.duration, "requests": len(self.samples),
            "ok": len(ok), "errors": len(self.samples) - len(ok),
            "statuses": _statuses(self.samples),
            "achieved_rps": round(len(ok) / span, 1) if ok and span > 0 else 0.0,
            "latency": summarise(s.latency for s in self.samples),
            "service": summarise(s.service for s in self.samples),
            "send_lag": summarise(s.start - s.planned for s in sent if s.start),
        }

    def references(self) -> list[str]:
        """The case reference each answer gave, in send order ("" for a failed one)."""
        refs = []
        for sample in self.samples:
            try:
                refs.append(json.loads(sample.body)["reference"] if sample.ok else "")
            except (ValueError, KeyError):
                refs.append("")
        return refs

    def p99(self) -> float:
        """p99 latency in seconds from planned times (inf when over 1% failed)."""
        return percentile(sorted(s.latency for s in self.samples), 99)

    def growth(self) -> float:
        """Seconds per second the median latency grew, first fifth to last fifth of the run.

        Near zero while the server keeps up; positive and steady once a queue builds.
        """
        fifth = len(self.samples) // 5
        if fifth < 5:
            return 0.0
        first = sorted(s.latency for s in self.samples[:fifth])
        last = sorted(s.latency for s in self.samples[-fifth:])
        return (percentile(last, 50) - percentile(first, 50)) / (0.8 * self.duration)


def _statuses(samples: Sequence[Sample]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in samples:
        counts[str(s.status)] = counts.get(str(s.status), 0) + 1
    return counts


def open_loop(url: str, bodies: Sequence[bytes], rate: float, *,
              headers: dict[str, str] | None = None, threads: int | None = None) -> Run:
    """POST bodies[i] to `url` at t0 + i/rate (127.0.0.1 only); one connection per thread."""
    parsed = urlparse(url)
    if parsed.hostname != "127.0.0.1":
        raise ValueError("the load generator only targets 127.0.0.1")
    count = len(bodies)
    threads = threads or max(8, min(96, int(rate * 0.3)))
    head = {"Content-Type": "application/json", **(headers or {})}
    samples: list[Sample | None] = [None] * count
    counter = itertools.count()
    t0 = time.perf_counter() + 0.2
    stop_at = t0 + count / rate + LATE_LIMIT + REQUEST_TIMEOUT

    def worker() -> None:
        conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port,
                                          timeout=REQUEST_TIMEOUT)
        while True:
            i = next(counter)
            if i >= count:
                break
            planned = t0 + i / rate
            delay = planned - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            now = time.perf_counter()
            if now - planned > LATE_LIMIT or now > stop_at:
                samples[i] = Sample(planned, 0.0, now, 0, b"")
                continue
            samples[i] = _post(conn, parsed.path, bodies[i], head, planned)
        conn.close()

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    wall_offset = time.time() - time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join(max(0.0, stop_at - time.perf_counter()) + REQUEST_TIMEOUT)
    done = [s or Sample(t0 + i / rate, 0.0, math.inf, 0, b"") for i, s in enumerate(samples)]
    return Run(rate, count / rate, done, wall_offset)


def _post(conn: http.client.HTTPConnection, path: str, body: bytes, head: dict[str, str],
          planned: float) -> Sample:
    start = time.perf_counter()
    try:
        conn.request("POST", path, body=body, headers=head)
        resp = conn.getresponse()
        data = resp.read()
        status = resp.status
        if resp.will_close:
            conn.close()
    except (OSError, http.client.HTTPException):
        conn.close()  # the next request reconnects
        return Sample(planned, start, time.perf_counter(), 0, b"")
    return Sample(planned, start, time.perf_counter(), status, data)

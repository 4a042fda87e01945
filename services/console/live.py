"""The supervisor dashboard, live: one snapshot of its numbers, and a Server-Sent Events
stream that sends a fresh snapshot whenever the Redis `events` stream says something moved.

A snapshot carries ids, codes, counts and times only — never a name or anything a reporter
wrote: it is built from routing fields, alert records and queue lengths. The page renders
from the same snapshot, so the HTML and dashboard.js agree on every field name.

The stream (one per open dashboard, on its own Redis client so no pooled connection is held):
`retry: 3000` and a snapshot at once, then XREAD BLOCK on `events` from the newest id (or
the browser's Last-Event-ID); any event that can change a number brings a new snapshot with
`id:` = the stream id, at most one per `debounce` seconds (and one every `refresh` seconds
regardless: time alone moves SLA clocks and worker states); a comment line when nothing was
written for `heartbeat` seconds; and after `lifetime` a `bye` event and the end, so the server
thread is freed (EventSource reconnects by itself, resuming from the last id).

Worker liveness, from existing records only (no broadcast, no extra writes by workers):
each kind's newest event (router: CaseOffered/CaseWaiting; notifier: Notification*;
sweeper: OfferExpired/OfferWithdrawn/CaseRepublished), its queue's length, and for the
sweeper the oldest overdue timer. A kind is `stalled` when work has waited for it longer
than `STALL_SECONDS` with no sign of it (queue not empty, or a timer overdue), `alive` when
its last sign is recent, else `idle` (no sign, but nothing is waiting for it either).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import redis
from flask import current_app

from services.console import handlers as h
from shared.bootstrap import Deps
from shared.broker_queues import BrokerQueues
from shared.domain import events
from shared.domain.alerts import EMERGENCY_CASE, EMERGENCY_WAITING, SKILL_WAITING
from shared.messaging import NOTIFY_QUEUE, ROUTE_QUEUE, SWEEP_QUEUE
from shared.store import StoreUnavailable
from shared.store.feed import EventFeed, valid_stream_id
from shared.store.queues import DistrictQueue

logger = logging.getLogger(__name__)

EXTENSION = "liaison_live"
QUEUES = (ROUTE_QUEUE, NOTIFY_QUEUE, SWEEP_QUEUE)
QUIET_EVENTS = frozenset({events.CASE_VIEWED, events.NOTE_ADDED})  # change no number shown
EMERGENCY_ALERTS = frozenset({EMERGENCY_CASE, EMERGENCY_WAITING})
WAITING_ALERTS = frozenset({EMERGENCY_WAITING, SKILL_WAITING})
WAITING_SHOWN = 25  # waiting cases listed one by one (the counts cover them all)
ALERT_FIELDS = ("id", "kind", "case_id", "reference", "district", "priority", "officer_id",
                "skills")
ALIVE_SECONDS = 10 * 60
STALL_SECONDS = 2 * 60
RETRY_MS = 3000
SHARE_SECONDS = 1.0
BATCH = 500                      # events read at once from the stream


@dataclass
class LiveSources:
    """What the dashboard reads besides the store; `register` builds it, tests replace it."""

    broker: BrokerQueues
    stream_client: Callable[[float], redis.Redis]   # a new client, given its socket timeout
    block_ms: int = 15_000
    heartbeat: float = 15.0
    debounce: float = 0.5
    refresh: float = 60.0
    lifetime: float = 300.0
    _shared: tuple[str, float, dict[str, Any]] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self, deps: Deps, event_id: str) -> dict[str, Any]:
        """A snapshot for this event id, shared by every stream in this process that asks
        within `SHARE_SECONDS` (so ten open dashboards cost one read per change, not ten)."""
        with self._lock:
            if self._shared and self._shared[0] == event_id \
                    and time.monotonic() - self._shared[1] < SHARE_SECONDS:
                return self._shared[2]
        fresh = snapshot(deps, self.broker, event_id)
        with self._lock:
            self._shared = (event_id, time.monotonic(), fresh)
        return fresh


# --- one snapshot --------------------------------------------------------------------------

def current_sources() -> LiveSources:
    """This app's live sources (`register` puts them in the app's extensions)."""
    return cast(LiveSources, current_app.extensions[EXTENSION])


def snapshot(deps: Deps, broker: BrokerQueues, event_id: str = "") -> dict[str, Any]:
    """Everything the dashboard shows, as ids, codes, counts and epoch times."""
    now = deps.clock()
    state = h.queues(deps)
    sla = h.sla(deps)
    alerts = deps.store.alerts.open()
    depths = broker.depths(QUEUES)
    health = deps.store.health
    offers = sorted(state.force.offers, key=lambda o: o.seconds_left)
    why = {a.get("case_id", ""): _why_waiting(a) for a in alerts
           if a.get("kind") in WAITING_ALERTS}
    crew = workers(health.last_signs(now=now), depths, health.oldest_overdue(), now,
                   deps.settings.sweep_interval_seconds)
    return {
        "at": now, "event_id": event_id, "truncated": state.truncated,
        "force": _queue(state.force, now),
        "districts": [_queue(q, now) for q in state.districts],
        "offers": [{"id": o.case_id, "case_id": o.case_id, "reference": o.reference,
                    "officer_id": o.officer_id, "district": o.district, "priority": o.priority,
                    "since": now - o.age_seconds, "until": now + o.seconds_left}
                   for o in offers],
        "alerts": sorted(({**{f: a.get(f, "") for f in ALERT_FIELDS},
                           "emergency": a.get("kind") in EMERGENCY_ALERTS,
                           "since": float(a.get("created_at") or now)} for a in alerts),
                         key=lambda a: (not a["emergency"], a["since"])),
        "waiting": [{"id": w.case_id, "case_id": w.case_id, "reference": w.reference,
                     "priority": w.priority, "district": w.district, "since": w.since,
                     "ring": "" if w.ring is None else f"ring_{w.ring}",
                     "why": why.get(w.case_id, "")}
                    for w in deps.store.queues.waiting_cases(now=now, limit=WAITING_SHOWN)],
        "breached": [_sla_item(i) for i in sla.breached],
        "at_risk": [_sla_item(i) for i in sla.at_risk],
        "dead_letters": [{"id": d.id, "kind": d.kind, "case_id": d.case_id,
                          "reference": d.reference, "what": d.what, "attempts": d.attempts,
                          "since": d.at} for d in health.dead_letters()],
        "officers": [{"id": o.id, "status": o.status, "on_shift": o.on_shift, "load": o.load,
                      "capacity": o.capacity} for o in deps.store.caseload.officers()
                     if o.role == "officer"],
        "queues": depths,
        "workers": crew,
        "counts": {"emergency_alerts": sum(a.get("kind") in EMERGENCY_ALERTS for a in alerts),
                   "alerts": len(alerts), "breached": len(sla.breached),
                   "at_risk": len(sla.at_risk),
                   "stalled_workers": sum(w["status"] == "stalled" for w in crew)},
    }


def _why_waiting(alert: dict[str, str]) -> str:
    """Why a case waits, as a code the dashboard labels (and the skill it needs, if any)."""
    if alert.get("kind") == SKILL_WAITING and alert.get("skills"):
        return f"needs {alert['skills']}"
    return alert.get("kind", "")


def _queue(q: DistrictQueue, now: float) -> dict[str, Any]:
    waiting = {str(p): {"count": s.count,
                        "oldest_since": now - s.oldest_wait_seconds if s.count else None}
               for p, s in sorted(q.waiting.items())}
    waits = [now - s.oldest_wait_seconds for s in q.waiting.values() if s.count]
    return {"district": q.district, "waiting": waiting,
            "waiting_total": sum(s.count for s in q.waiting.values()),
            "oldest_wait_since": min(waits, default=None),
            "on_shift": q.officers_on_shift, "available": q.officers_available,
            "at_capacity": q.officers_at_capacity, "offers": len(q.offers),
            "oldest_offer_since": min((now - o.age_seconds for o in q.offers), default=None)}


def _sla_item(item: Any) -> dict[str, Any]:
    return {"id": f"{item.case_id}-{item.clock}", "case_id": item.case_id,
            "reference": item.reference, "clock": item.clock, "state": item.state,
            "priority": item.priority, "district": item.district,
            "officer_id": item.officer_id, "due": item.due}


def workers(signs: dict[str, float | None], depths: dict[str, int], overdue: float | None,
            now: float, sweep_interval: int) -> list[dict[str, Any]]:
    """Each worker kind's state from its signs of life and the work waiting for it."""
    stale = now - STALL_SECONDS
    quiet = {kind: sign is None or sign < stale for kind, sign in signs.items()}
    stuck = {
        "router": depths[ROUTE_QUEUE] > 0 and quiet["router"],
        "notifier": depths[NOTIFY_QUEUE] > 0 and quiet["notifier"],
        # beat queues a sweep every interval; a pile of them, or a timer left long past
        # due, means no router worker is sweeping (or beat itself stopped)
        "sweeper": (overdue is not None and overdue < stale)
        or depths[SWEEP_QUEUE] >= max(3, STALL_SECONDS // max(1, sweep_interval)),
    }
    queue = {"router": ROUTE_QUEUE, "notifier": NOTIFY_QUEUE, "sweeper": SWEEP_QUEUE}
    found = []
    for kind, sign in signs.items():
        status = "stalled" if stuck[kind] else \
            "alive" if sign is not None and sign >= now - ALIVE_SECONDS else "idle"
        found.append({"id": kind, "queue": queue[kind], "backlog": depths[queue[kind]],
                      "status": status, "last_sign": sign,
                      "overdue_since": overdue if kind == "sweeper" and stuck[kind] else None})
    return found


# --- the stream ----------------------------------------------------------------------------

class SnapshotStream:
    """One browser's event stream (an iterable of SSE text chunks)."""

    def __init__(self, build: Callable[[str], dict[str, Any]], feed: EventFeed,
                 *, last_event_id: str = "", block_ms: int = 15_000, heartbeat: float = 15.0,
                 debounce: float = 0.5, refresh: float = 60.0, lifetime: float = 300.0,
                 close: Callable[[], None] = lambda: None,
                 clock: Callable[[], float] = time.monotonic,
                 only_changes: bool = False) -> None:
        self._build = build
        self._feed = feed
        self._resume = last_event_id if valid_stream_id(last_event_id) else ""
        self._block_ms = block_ms
        self._heartbeat = heartbeat
        self._debounce = debounce
        self._refresh = refresh
        self._lifetime = lifetime
        self._close = close
        self._clock = clock
        self._only_changes = only_changes  # skip a snapshot equal to the last one sent
        self._last_data = ""

    def __iter__(self) -> Iterator[str]:
        try:
            yield from self._run()
        except StoreUnavailable as exc:  # the browser retries; Redis may be back by then
            logger.warning("dashboard stream ended: store unavailable",
                           extra={"error": str(exc)})
        finally:
            self._close()

    def _run(self) -> Iterator[str]:
        end = self._clock() + self._lifetime
        newest = self._feed.latest_event_id()
        last_id = self._resume or newest
        yield f"retry: {RETRY_MS}\n" + self._message(newest)
        sent = written = self._clock()
        pending = ""
        while (now := self._clock()) < end:
            # Time alone changes some numbers (SLA at risk, a stalled worker, queue depths):
            # without events, a fresh snapshot every `refresh` seconds.
            if pending and now - sent >= self._debounce or now - sent >= self._refresh:
                message = self._message(pending or last_id)
                sent = self._clock()
                if message:
                    yield message
                    written = sent
                pending = ""
                continue
            wait = self._debounce - (now - sent) if pending else min(
                self._block_ms / 1000, end - now, self._heartbeat - (now - written),
                self._refresh - (now - sent))
            found = self._feed.events_after(last_id, block_ms=int(max(wait, 0) * 1000) + 1,
                                            count=BATCH)
            if found:
                # A full batch means a burst (or an old Last-Event-ID): what changed does not
                # matter, only that something did, so skip to the newest event.
                last_id = found[-1][0] if len(found) < BATCH \
                    else self._feed.latest_event_id()
                if any(kind not in QUIET_EVENTS for _, kind in found):
                    pending = last_id
            if not pending and self._clock() - written >= self._heartbeat:
                yield ": heartbeat\n\n"
                written = self._clock()
        yield "event: bye\ndata: {}\n\n"  # a planned end: the browser reconnects in RETRY_MS

    def _message(self, event_id: str) -> str:
        """The snapshot as an SSE message ('' when `only_changes` and nothing changed)."""
        data = json.dumps(self._build(event_id), separators=(",", ":"))
        if self._only_changes and data == self._last_data:
            return ""
        self._last_data = data
        return f"id: {event_id}\nevent: snapshot\ndata: {data}\n\n"

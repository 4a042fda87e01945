"""`Store`: the repositories over one Redis connection — aggregates, then read models."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from shared.store.accounts import AccountRepository
from shared.store.alerts import AlertRepository
from shared.store.audit import AuditTrail
from shared.store.base import ASYNC, Durability, Keys, probe_writes, translate_errors
from shared.store.caseload import CaseloadReads
from shared.store.cases import CaseRepository
from shared.store.checks import StatusReads
from shared.store.counters import CounterReads
from shared.store.drafts import DraftRepository
from shared.store.feed import EventFeed
from shared.store.force import ForceRepository
from shared.store.health import HealthReads
from shared.store.notes import NoteRepository
from shared.store.notifications import NotificationRepository
from shared.store.officers import OfficerRepository
from shared.store.outcomes import OutcomeReads
from shared.store.partners import PartnerRepository
from shared.store.queues import QueueReads
from shared.store.retention import RetentionRepository
from shared.store.routing import RoutingRepository
from shared.store.sla import SlaReads
from shared.store.stats import StatsRepository


class Store:
    """Everything the services keep in Redis, by aggregate."""

    def __init__(self, client: redis.Redis, *, prefix: str = "liaison:",
                 events_maxlen: int = 100_000, audit_key: bytes = b"",
                 durability: Durability = ASYNC) -> None:
        self.redis = client
        self.keys = Keys(prefix)
        # Writes acknowledged to a person (a new case, case actions, notes) wait for the
        # replicas under durability `replicated` (DESIGN §6).
        self.durability = durability
        self.cases = CaseRepository(client, self.keys, events_maxlen=events_maxlen,
                                    durability=durability)
        self.force = ForceRepository(client, self.keys)
        self.notifications = NotificationRepository(client, self.keys, events_maxlen=events_maxlen,
                                                    durability=durability)
        self.officers = OfficerRepository(client, self.keys)
        self.routing = RoutingRepository(client, self.keys, events_maxlen=events_maxlen,
                                         durability=durability)
        self.alerts = AlertRepository(client, self.keys, events_maxlen=events_maxlen)
        self.accounts = AccountRepository(client, self.keys)
        self.partners = PartnerRepository(client, self.keys)  # reporting centres' keys
        self.notes = NoteRepository(client, self.keys, events_maxlen=events_maxlen,
                                    durability=durability)
        self.audit = AuditTrail(client, self.keys, events_maxlen=events_maxlen,
                                chain_key=audit_key)
        self.retention = RetentionRepository(client, self.keys, self.audit,
                                             events_maxlen=events_maxlen)
        # read models, by the question they answer
        self.caseload = CaseloadReads(client, self.keys)     # what each officer holds
        self.queues = QueueReads(client, self.keys)          # what waits, per district
        self.sla = SlaReads(client, self.keys, self.alerts)  # which clocks are at risk
        self.outcomes = OutcomeReads(client, self.keys, events_maxlen=events_maxlen)
        self.health = HealthReads(client, self.keys)         # is the work moving
        self.feed = EventFeed(client, self.keys)             # what happened since an event
        self.stats = StatsRepository(client, self.keys)      # what the metrics report
        self.counters = CounterReads(client, self.keys)      # how many, ever (metrics)
        self.status = StatusReads(client, self.keys)         # check my report
        self.drafts = DraftRepository(client, self.keys)     # stepped forms, sealed

    @contextmanager
    def exclusive(self, name: str, seconds: int) -> Iterator[bool]:
        """A short Redis lock (SET NX EX): yields True to the one holder, False to others."""
        key = f"{self.keys.prefix}lock:{name}"
        token = uuid.uuid4().hex
        acquired = bool(translate_errors(self.redis.set)(key, token, nx=True, ex=seconds))
        try:
            yield acquired
        finally:
            if acquired and translate_errors(self.redis.get)(key) == token:
                translate_errors(self.redis.delete)(key)

    @translate_errors
    def ping(self) -> bool:
        """True when Redis answers (raises StoreUnavailable when it does not). A server that
        answers may still refuse writes: readiness asks `writable()`."""
        return bool(self.redis.ping())

    def writable(self) -> bool:
        """True when Redis answers and takes a write now; StoreUnavailable (its `reason`:
        unreachable, out_of_memory, read_only, cannot_persist) when not. One tiny SET with a
        10 s TTL per call, under a key of this host and process: cheap enough for health
        checks every few seconds."""
        probe_writes(self.redis, self.keys.readiness(f"{socket.gethostname()}-{os.getpid()}"))
        return True

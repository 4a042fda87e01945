"""What waits in each district — cases by priority, open offers — and who could take them?

Reads are bounded (`limit` waiting cases and offers, then `truncated`) and take routing fields
only. A case with no district of the force counts in the `FORCE_WIDE` bucket (the
force-wide pool's, whose available officers are everyone available); `FORCE_TOTAL` is the
whole force's row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import redis

from shared.domain.routing import FORCE_WIDE
from shared.store.base import Keys, translate_errors
from shared.store.caseload import CaseloadReads

PRIORITIES = (1, 2, 3, 4)
FORCE_TOTAL = "_all"               # the force's totals, as the dashboard names that row


@dataclass
class WaitStat:
    count: int = 0
    oldest_wait_seconds: float = 0.0   # since the case last went into the queue


@dataclass(frozen=True)
class OpenOffer:
    case_id: str
    reference: str
    officer_id: str
    district: str
    priority: int
    age_seconds: float
    seconds_left: float


@dataclass(frozen=True)
class WaitingCase:
    """One case waiting for an officer: routing fields and reference, no personal data."""

    case_id: str
    reference: str
    priority: int
    district: str
    since: float           # waiting since (epoch)
    ring: int | None       # the widest ring reached: 0 district, 1 neighbours, 2 force-wide


@dataclass
class DistrictQueue:
    district: str
    waiting: dict[int, WaitStat] = field(
        default_factory=lambda: {p: WaitStat() for p in PRIORITIES})
    officers_on_shift: int = 0
    officers_available: int = 0        # eligible for an offer now (on shift, free, available)
    officers_at_capacity: int = 0      # on shift with no room for another case
    offers: list[OpenOffer] = field(default_factory=list)

    def count_wait(self, priority: int, waited: float) -> None:
        stat = self.waiting.setdefault(priority, WaitStat())
        stat.count += 1
        stat.oldest_wait_seconds = max(stat.oldest_wait_seconds, waited)


@dataclass(frozen=True)
class QueueState:
    districts: list[DistrictQueue]
    force: DistrictQueue
    truncated: bool                    # more waiting cases or offers than were read


class QueueReads:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys
        self._caseload = CaseloadReads(client, keys)

    @translate_errors
    @translate_errors
    def waiting_cases(self, *, now: float, limit: int = 25) -> list[WaitingCase]:
        """The first `limit` waiting cases in routing order (priority, then age)."""
        k = self._keys
        ids: list[str] = self._r.zrange(k.waiting, 0, limit - 1)
        pipe = self._r.pipeline(transaction=False)
        for case_id in ids:
            pipe.hmget(k.case(case_id), ["state", "reference", "priority", "district",
                                         "waiting_since", "created_at", "ring"])
        found = []
        for case_id, values in zip(ids, pipe.execute(), strict=True):
            state, reference, priority, district, since, created, ring = values
            if state != "waiting":
                continue
            found.append(WaitingCase(case_id, reference or "", int(priority or 4),
                                     district or "", float(since or created or now),
                                     int(ring) if ring not in (None, "") else None))
        return found

    def by_district(self, districts: Sequence[str], *, now: float,
                    limit: int = 5000) -> QueueState:
        """Waiting cases by priority, officers and open offers per district, and force totals."""
        k = self._keys
        board = {d: DistrictQueue(d) for d in [*districts, FORCE_WIDE]}
        force = DistrictQueue(FORCE_TOTAL)
        waiting: list[str] = self._r.zrange(k.waiting, 0, limit - 1)
        offers: list[tuple[str, float]] = self._r.zrange(k.offers, 0, limit - 1, withscores=True)
        pipe = self._r.pipeline(transaction=False)
        pipe.zcard(k.waiting)
        pipe.zcard(k.offers)
        for case_id in waiting:
            pipe.hmget(k.case(case_id), ["state", "district", "priority", "waiting_since",
                                         "created_at"])
        for case_id, _ in offers:
            pipe.hmget(k.case(case_id), ["reference", "officer", "district", "priority",
                                         "offered_at"])
        raw = pipe.execute()
        total_waiting, total_offers = raw[0], raw[1]
        for state, district, priority, since, created in raw[2:2 + len(waiting)]:
            if state != "waiting":
                continue  # a stale entry (the routing script drops these)
            waited = max(0.0, now - float(since or created or now))
            for queue in (board.get(district or "", board[FORCE_WIDE]), force):
                queue.count_wait(int(priority or 4), waited)
        for (case_id, deadline), values in zip(offers, raw[2 + len(waiting):], strict=True):
            reference, officer, district, priority, offered_at = values
            offer = OpenOffer(case_id, reference or "", officer or "", district or "",
                              int(priority or 4), max(0.0, now - float(offered_at or now)),
                              deadline - now)
            for queue in (board.get(district or "", board[FORCE_WIDE]), force):
                queue.offers.append(offer)
        self._count_officers(board, force)
        return QueueState(list(board.values()), force,
                          truncated=total_waiting > limit or total_offers > limit)

    def _count_officers(self, board: Mapping[str, DistrictQueue], force: DistrictQueue) -> None:
        for officer in self._caseload.officers():
            if officer.role != "officer" or not officer.on_shift:
                continue
            places = [board[d] for d in officer.districts if d in board]
            for queue in [*places, force]:
                queue.officers_on_shift += 1
                queue.officers_at_capacity += int(officer.full)
        k = self._keys
        pipe = self._r.pipeline(transaction=False)
        for district in board:
            pipe.zcard(k.available(district))
        pipe.zcard(k.available_anywhere)
        for queue, size in zip([*board.values(), force], pipe.execute(), strict=True):
            queue.officers_available = int(size)

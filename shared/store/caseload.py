"""What does each officer hold now, and what is one case (without its personal data)?

`CaseloadReads.officers` is the one read of officers for display: the supervisor dashboard,
the queue board, the admin list and the metrics all take it from here. Case summaries are
HMGETs of routing fields only, so they never load the sealed personal data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from shared.store.base import Keys, translate_errors

OFFICER_FIELDS = ("name", "role", "status", "districts", "skills", "on_shift", "capacity")
SUMMARY_FIELDS = ("id", "reference", "kind", "state", "priority", "district", "officer",
                  "created_at", "offered_at", "offer_deadline", "accepted_at",
                  "first_contact_at", "closed_at", "emergency", "strands", "risk", "enhanced",
                  "next_update_at")


def _f(value: Any) -> float | None:
    return float(value) if value not in (None, "") else None


def _codes(value: str | None) -> tuple[str, ...]:
    return tuple(code for code in (value or "").split(",") if code)


@dataclass(frozen=True)
class OfficerState:
    """A member of staff as routing keeps them, and the open cases they hold."""

    id: str
    name: str = ""
    role: str = ""                     # "" when there is no such officer
    status: str = ""
    districts: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    on_shift: bool = False
    capacity: int = 0
    cases: frozenset[str] = frozenset()  # offered, accepted or contacted

    @property
    def load(self) -> int:
        return len(self.cases)

    @property
    def full(self) -> bool:
        """No room for another case."""
        return self.load >= self.capacity


@dataclass(frozen=True)
class CaseSummary:
    """A case's routing fields and reference — no personal data."""

    id: str
    reference: str
    kind: str
    state: str
    priority: int
    district: str
    officer_id: str
    created_at: float | None
    offered_at: float | None
    offer_deadline: float | None
    accepted_at: float | None
    first_contact_at: float | None
    emergency: bool
    sla_due: float | None = None       # the running SLA clock (accept, first contact, review)
    sla_clock: str = ""                # which: accept | contact | review ("" = none runs)
    strands: tuple[str, ...] = ()      # hate strands (codes), for the offer's summary line
    risk: str = ""                     # low | medium | high ("" = rated before ratings)
    enhanced: bool = False             # a repeat victim: Victims' Code enhanced updates
    next_update_at: float | None = None  # the next Victims' Code update due

    @property
    def next_due(self) -> float | None:
        """What falls due first on the case: its SLA clock or its next update."""
        dues = [d for d in (self.sla_due, self.next_update_at) if d is not None]
        return min(dues) if dues else None

    @classmethod
    def from_values(cls, values: Sequence[Any], sla_due: float | None,
                    sla_clock: str = "") -> CaseSummary:
        d = dict(zip(SUMMARY_FIELDS, values, strict=True))
        return cls(
            id=d["id"] or "", reference=d["reference"] or "", kind=d["kind"] or "",
            state=d["state"] or "", priority=int(d["priority"] or 4),
            district=d["district"] or "", officer_id=d["officer"] or "",
            created_at=_f(d["created_at"]), offered_at=_f(d["offered_at"]),
            offer_deadline=_f(d["offer_deadline"]), accepted_at=_f(d["accepted_at"]),
            first_contact_at=_f(d["first_contact_at"]), emergency=d["emergency"] == "1",
            sla_due=sla_due, sla_clock=sla_clock if sla_due is not None else "",
            strands=tuple(s for s in (d["strands"] or "").split(",") if s),
            risk=d["risk"] or "", enhanced=d["enhanced"] == "1",
            next_update_at=_f(d["next_update_at"]) if d["state"] != "closed" else None)


class CaseloadReads:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys

    @translate_errors
    def officers(self, limit: int | None = None) -> list[OfficerState]:
        """Every member of staff with a record, by id (the first `limit` ids at most)."""
        ids = sorted(self._r.smembers(self._keys.officers))[:limit]
        return [state for state in self._states(ids) if state.role]

    @translate_errors
    def officer(self, officer_id: str) -> OfficerState:
        """One member of staff (an empty `role` when there is no such officer)."""
        return self._states([officer_id])[0]

    def _states(self, ids: Sequence[str]) -> list[OfficerState]:
        k = self._keys
        pipe = self._r.pipeline(transaction=False)
        for officer_id in ids:
            pipe.hmget(k.officer(officer_id), OFFICER_FIELDS)
            pipe.smembers(k.officer_cases(officer_id))
        raw = pipe.execute()
        found = []
        for i, officer_id in enumerate(ids):
            (name, role, status, districts, skills, on_shift, capacity), cases = \
                raw[2 * i], raw[2 * i + 1]
            found.append(OfficerState(officer_id, name or "", role or "", status or "",
                                      _codes(districts), _codes(skills), on_shift == "1",
                                      int(capacity or 0), frozenset(cases)))
        return found

    @translate_errors
    def officer_cases(self, officer_id: str) -> list[CaseSummary]:
        """The officer's offered and open cases with their running SLA clock."""
        return self._summaries(sorted(self.officer(officer_id).cases))

    @translate_errors
    def case_summary(self, case_id: str) -> CaseSummary | None:
        """One case's routing fields and running SLA clock (no personal data)."""
        found = self._summaries([case_id])
        return found[0] if found else None

    def _summaries(self, ids: Sequence[str]) -> list[CaseSummary]:
        k = self._keys
        pipe = self._r.pipeline(transaction=False)
        clocks = (("review", k.sla_review), ("contact", k.sla_contact),
                  ("accept", k.sla_accept))  # a case runs one at a time; first found wins
        for case_id in ids:
            pipe.hmget(k.case(case_id), SUMMARY_FIELDS)
            for _, key in clocks:
                pipe.zscore(key, case_id)
        raw = pipe.execute()
        found = []
        step = 1 + len(clocks)
        for i in range(0, len(raw), step):
            values, dues = raw[i], raw[i + 1:i + step]
            if values[0]:
                clock, due = next(((name, d) for (name, _), d in zip(clocks, dues, strict=True)
                                   if d is not None), ("", None))
                found.append(CaseSummary.from_values(values, _f(due), clock))
        return found

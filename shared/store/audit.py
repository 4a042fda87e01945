"""Who read or changed what in the console, and when? The audit trail: its writes and its pages.

The `audit` stream is not capped (unlike `events`): it is the record of access. An entry
names ids, never the data read: who, which case or officer, what they tried, when.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import redis

from shared.domain import events
from shared.store.base import Keys, translate_errors
from shared.store.feed import event_time, valid_stream_id

AUDIT_SCAN = 20_000             # audit entries looked through for one page at most
PERSON_FIELDS = ("by", "staff_id", "user_id", "officer_id", "username")


@dataclass(frozen=True)
class AuditEntry:
    id: str                   # the stream id
    at: float                 # the entry's `at`, else the stream id's time
    fields: dict[str, str]


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_before: str | None   # pass as `before` for the next (older) page
    scanned_out: bool         # stopped after AUDIT_SCAN entries without filling the page


class AuditTrail:
    def __init__(self, client: redis.Redis, keys: Keys, *, events_maxlen: int) -> None:
        self._r = client
        self._keys = keys
        self._events_maxlen = events_maxlen

    def _append(self, event: Mapping[str, str], *, audit: bool = True,
                stream: bool = True) -> None:
        """One entry in the audit trail and/or the `events` stream, together."""
        pipe = self._r.pipeline(transaction=True)
        if audit:
            pipe.xadd(self._keys.audit, dict(event))
        if stream:
            pipe.xadd(self._keys.events, dict(event), maxlen=self._events_maxlen,
                      approximate=True)
        pipe.execute()

    @translate_errors
    def record_view(self, case_id: str, *, by: str, now: float) -> None:
        """One read of a case's personal data: who, which case, when — never the data."""
        self._append({"type": events.CASE_VIEWED, "case_id": case_id, "by": by,
                      "at": f"{now:.6f}"})

    @translate_errors
    def record_refused(self, case_id: str, *, by: str, action: str, reason: str,
                       now: float) -> None:
        """A refused access to a case (403 not theirs, 404 no such case): who, which case
        (as asked for), what they tried, when."""
        self._append({"type": events.CASE_ACCESS_REFUSED, "case_id": case_id, "by": by,
                      "action": action, "reason": reason, "at": f"{now:.6f}"}, stream=False)

    @translate_errors
    def record_search(self, reference: str, *, by: str, case_id: str, now: float) -> None:
        """A supervisor's search for a case by its reference, and what it found."""
        self._append({"type": events.CASE_SEARCHED, "reference": reference,
                      "case_id": case_id, "by": by, "found": "1" if case_id else "0",
                      "at": f"{now:.6f}"}, stream=False)

    @translate_errors
    def record_availability(self, officer_id: str, status: str, *, by: str,
                            now: float) -> None:
        """An officer's status changed, and who changed it (themselves or a supervisor);
        routing state, so in the `events` stream only."""
        self._append({"type": events.AVAILABILITY_CHANGED, "officer_id": officer_id,
                      "status": status, "by": by, "at": f"{now:.6f}"}, audit=False)

    @translate_errors
    def record_officer_update(self, officer_id: str, *, by: str, changed: Iterable[str],
                              created: bool, now: float) -> None:
        """An admin added or changed an officer's record: who, whom, which fields (never
        the values), when."""
        self._append({"type": events.OFFICER_UPDATED, "officer_id": officer_id, "by": by,
                      "fields": ",".join(sorted(changed)), "created": "1" if created else "0",
                      "at": f"{now:.6f}"})

    @translate_errors
    def page(self, *, since: float | None = None, until: float | None = None,
             case_id: str = "", person: str = "", before: str = "",
             limit: int = 100, batch: int = 500) -> AuditPage:
        """Audit entries newest first, filtered by case id and person (who did it, or whom
        it was about) within [since, until], `limit` at a time from `before` on."""
        top = "+" if until is None else f"{int(until * 1000)}-18446744073709551615"
        if before and valid_stream_id(before):
            top = "(" + before
        bottom = "-" if since is None else f"{int(since * 1000)}-0"
        found: list[AuditEntry] = []
        scanned = 0
        while scanned < AUDIT_SCAN:
            entries = self._r.xrevrange(self._keys.audit, max=top, min=bottom, count=batch)
            for stream_id, fields in entries:
                scanned += 1
                if _matches(fields, case_id, person):
                    found.append(AuditEntry(stream_id, event_time(stream_id, fields), fields))
                    if len(found) == limit:
                        return AuditPage(found, stream_id, False)
            if len(entries) < batch:
                return AuditPage(found, None, False)
            top = "(" + entries[-1][0]
        return AuditPage(found, top[1:], True)


def _matches(fields: Mapping[str, str], case_id: str, person: str) -> bool:
    if case_id and fields.get("case_id") != case_id:
        return False
    return not person or any(fields.get(name) == person for name in PERSON_FIELDS)

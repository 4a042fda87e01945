"""Who read or changed what in the console, and when? The audit trail: its writes and its pages.

The `audit` stream is not capped (unlike `events`): it is the record of access. An entry
names ids, never the data read: who, which case or officer, what they tried, when.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import redis
from redis.client import Pipeline

from shared.domain import events
from shared.store.audit_chain import GENESIS, Verdict, chained, verify
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
    def __init__(self, client: redis.Redis, keys: Keys, *, events_maxlen: int,
                 chain_key: bytes = b"") -> None:
        self._r = client
        self._keys = keys
        self._events_maxlen = events_maxlen
        self.chain_key = chain_key

    def _append(self, event: Mapping[str, str], *, audit: bool = True,
                stream: bool = True) -> None:
        """One entry in the audit trail (chained to the one before) and/or the `events`
        stream, together. Append-only: nothing here edits or removes an entry."""
        if not audit:
            self._r.xadd(self._keys.events, dict(event), maxlen=self._events_maxlen,
                         approximate=True)
            return
        with self._r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(self._keys.audit_head)
                    self.append_in(pipe, event)
                    if stream:
                        pipe.xadd(self._keys.events, dict(event),
                                  maxlen=self._events_maxlen, approximate=True)
                    pipe.execute()
                    return
                except redis.WatchError:  # another entry went in first: chain after it
                    continue

    def append_in(self, pipe: Pipeline, event: Mapping[str, str]) -> None:
        """Queue one chained entry on a pipeline that WATCHes `audit_head` and is still in
        its immediate mode (reads the head, then starts MULTI) — for writers that put the
        audit entry in their own transaction (retention's erasure)."""
        prev = pipe.get(self._keys.audit_head) or GENESIS
        entry = chained(self.chain_key, str(prev), event)
        if not pipe.explicit_transaction:
            pipe.multi()
        pipe.xadd(self._keys.audit, entry)
        pipe.set(self._keys.audit_head, entry["hash"])

    @translate_errors
    def verify(self, *, batch: int = 1000) -> Verdict:
        """Check the whole chain, oldest first (`liaison audit verify`)."""
        return verify(self.chain_key, self.entries(batch=batch),
                      self._r.get(self._keys.audit_head))

    def entries(self, *, since: float | None = None,
                batch: int = 1000) -> Iterator[tuple[str, dict[str, str]]]:
        """Every entry oldest first (from `since`, epoch seconds), a batch at a time."""
        low = "-" if since is None else f"{int(since * 1000)}-0"
        while True:
            found = self._r.xrange(self._keys.audit, min=low, max="+", count=batch)
            yield from found
            if len(found) < batch:
                return
            low = "(" + found[-1][0]

    @translate_errors
    def record_view(self, case_id: str, *, by: str, now: float,
                    via: str = "console", purpose: str = "", reference: str = "") -> None:
        """One read of a case's personal data: who, which case, when, from where (`via`:
        console pages or api) and, for anyone but the case's officer, why (`purpose` from
        `shared.domain.consultation.PURPOSES`, and a `reference` if given) — never the
        data."""
        entry = {"type": events.CASE_VIEWED, "case_id": case_id, "by": by, "via": via,
                 "at": f"{now:.6f}"}
        entry |= {k: v for k, v in (("purpose", purpose), ("reference", reference)) if v}
        self._append(entry)

    @translate_errors
    def record_case_action(self, case_id: str, action: str, *, by: str, via: str,
                           now: float, **ids: str) -> None:
        """Staff altered a case (DPA 2018 s.62): who, which case, what (`action` and any
        ids, e.g. `note_id`, `officer_id`), from where (`via`), when. The change's own event
        is in the `events` stream already, so this goes to the audit trail only."""
        self._append({"type": events.CASE_ACTION_TAKEN, "case_id": case_id,
                      "action": action, **ids, "by": by, "via": via,
                      "at": f"{now:.6f}"}, stream=False)

    @translate_errors
    def record_note(self, case_id: str, note_id: str, *, by: str, via: str,
                    now: float) -> None:
        """A note added to a case: who, which case and note (never its text), when."""
        self._append({"type": events.NOTE_ADDED, "case_id": case_id, "note_id": note_id,
                      "by": by, "via": via, "at": f"{now:.6f}"}, stream=False)

    @translate_errors
    def record_collected(self, case_id: str, *, kind: str, via: str, now: float,
                         partner: str = "", taken_by: str = "") -> None:
        """A submission collected (its personal data now held): which case, its kind, by
        which door (`intake-form`, `intake-api`, or `console-phone` for a 101 call handler),
        from whom (the public; a reporting centre with its partner key: `by`
        partner:<name> and `partner`; or the staff member who took it by phone: `by` and
        `taken_by` their id), when."""
        by = taken_by or (f"partner:{partner}" if partner else "public")
        entry = {"type": events.CASE_COLLECTED, "case_id": case_id, "kind": kind,
                 "by": by, "via": via, "at": f"{now:.6f}"}
        if partner:
            entry["partner"] = partner
        if taken_by:
            entry["taken_by"] = taken_by
        self._append(entry, stream=False)

    @translate_errors
    def record_status_check(self, case_id: str, *, via: str, now: float,
                            refused: str = "") -> None:
        """A "check my report" look-up (`via` intake-check or intake-api). One that answered
        is a disclosure to the person holding the reference and check code (`what` status);
        one that did not is a refused access (`refused`: unknown_reference or wrong_code,
        `case_id` empty when no case has that reference) — never the typed code."""
        if refused:
            self._append({"type": events.CASE_ACCESS_REFUSED, "case_id": case_id,
                          "by": "public", "action": "check_status", "reason": refused,
                          "via": via, "at": f"{now:.6f}"}, stream=False)
            return
        self._append({"type": events.DATA_DISCLOSED, "case_id": case_id, "what": "status",
                      "channel": "web" if via == "intake-check" else "api",
                      "recipient": "reference_holder", "by": "public", "via": via,
                      "at": f"{now:.6f}"}, stream=False)

    @translate_errors
    def record_sign_in(self, kind: str, *, by: str, via: str, now: float,
                       username_digest: str = "") -> None:
        """A sign-in, failed sign-in or sign-out: who (the staff id, if known), from where
        (`via`, never an address), when. A failure names the typed username only by its
        digest (as the lockout counter keys it): people type passwords there."""
        entry = {"type": kind, "by": by, "via": via, "at": f"{now:.6f}"}
        if username_digest:
            entry["username_digest"] = username_digest
        self._append(entry, stream=False)

    @translate_errors
    def record_refused(self, case_id: str, *, by: str, action: str, reason: str,
                       now: float, via: str = "console") -> None:
        """A refused access to a case (403 not theirs, 404 no such case): who, which case
        (as asked for), what they tried, when."""
        self._append({"type": events.CASE_ACCESS_REFUSED, "case_id": case_id, "by": by,
                      "action": action, "reason": reason, "via": via, "at": f"{now:.6f}"},
                     stream=False)

    @translate_errors
    def record_search(self, reference: str, *, by: str, case_id: str, now: float,
                      via: str = "console") -> None:
        """A supervisor's search for a case by its reference, and what it found."""
        self._append({"type": events.CASE_SEARCHED, "reference": reference,
                      "case_id": case_id, "by": by, "found": "1" if case_id else "0",
                      "via": via, "at": f"{now:.6f}"}, stream=False)

    @translate_errors
    def record_availability(self, officer_id: str, status: str, *, by: str,
                            now: float) -> None:
        """An officer's status changed, and who changed it (themselves or a supervisor);
        routing state, so in the `events` stream only."""
        self._append({"type": events.AVAILABILITY_CHANGED, "officer_id": officer_id,
                      "status": status, "by": by, "at": f"{now:.6f}"}, audit=False)

    @translate_errors
    def record_officer_update(self, officer_id: str, *, by: str, changed: Iterable[str],
                              created: bool, now: float, via: str = "console") -> None:
        """An admin added or changed an officer's record: who, whom, which fields (never
        the values), from where (`console` or `cli`), when."""
        self._append({"type": events.OFFICER_UPDATED, "officer_id": officer_id, "by": by,
                      "fields": ",".join(sorted(changed)), "created": "1" if created else "0",
                      "via": via, "at": f"{now:.6f}"})

    @translate_errors
    def record_admin(self, kind: str, *, by: str, via: str, now: float,
                     **fields: str) -> None:
        """A staff, account, token, key or audit operation (DPA 2018 s.62 and ASVS V16):
        `kind` from `shared.domain.events` (OfficerRemoved, AccountChanged, AccessEnded,
        TokenIssued, AuditExported, AuditVerified), who (`cli:<os user>` for the CLI), from
        where, when, and ids or counts in `fields` — never a password, token or key."""
        self._append({"type": kind, **fields, "by": by, "via": via, "at": f"{now:.6f}"},
                     stream=False)

    @translate_errors
    def record_disclosure(self, case_id: str, *, what: str, channel: str,
                          notification_id: str, now: float) -> None:
        """Personal data sent out of the system to the person it is about (DPA 2018 s.62:
        disclosure): which case, what (the message kind, e.g. `reporter_ack`), by which
        channel (never the address), when; the notifier sends it, for the system."""
        self._append({"type": events.DATA_DISCLOSED, "case_id": case_id, "what": what,
                      "channel": channel, "notification_id": notification_id,
                      "recipient": "reporter", "by": "system", "via": "notifier",
                      "at": f"{now:.6f}"}, stream=False)

    def erasure_entry(self, case_id: str, *, kind: str, closed_at: str, by: str,
                      now: float) -> dict[str, str]:
        """The audit entry of one case's personal data erased under the retention schedule
        (DPA 2018 s.62: erasure is audited): which case, its kind, when it closed, who (the
        sweeper or an admin's command), when. The caller writes it in the erasure's own
        transaction (`shared/store/retention.py`), so neither is ever written alone."""
        return {"type": events.CASE_ERASED, "case_id": case_id, "kind": kind,
                "closed_at": closed_at, "by": by, "via": via_of(by), "reason": "retention",
                "at": f"{now:.6f}"}

    @translate_errors
    def record_retention_run(self, counts: Mapping[str, int], *, by: str, dry_run: bool,
                             now: float) -> None:
        """One retention run: how many cases it erased (or would have), by kind."""
        self._append({"type": events.RETENTION_RUN, "by": by, "via": via_of(by),
                      "dry_run": "1" if dry_run else "0",
                      "counts": ",".join(f"{k}={n}" for k, n in sorted(counts.items())),
                      "at": f"{now:.6f}"}, stream=False)

    @translate_errors
    def record_reseal(self, *, by: str, resealed: int, skipped: int, failed: int,
                      complete: bool, now: float) -> None:
        """A key operation: sealed records re-sealed under the first key (counts only)."""
        self._append({"type": events.RECORDS_RESEALED, "by": by, "via": via_of(by),
                      "resealed": str(resealed),
                      "skipped": str(skipped), "failed": str(failed),
                      "complete": "1" if complete else "0", "at": f"{now:.6f}"}, stream=False)

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


def via_of(by: str) -> str:
    """Where an action without a request came from: the CLI (`cli:<os user>`), else the
    sweeper acting for the system."""
    return "cli" if by == "cli" or by.startswith("cli:") else "sweeper"


def _matches(fields: Mapping[str, str], case_id: str, person: str) -> bool:
    if case_id and fields.get("case_id") != case_id:
        return False
    return not person or any(fields.get(name) == person for name in PERSON_FIELDS)

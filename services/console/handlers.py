"""What the console's API does, without Flask: who may see a case, reading it (unsealed and
audited), and the officer and supervisor actions, which delegate to `shared.casework`.

Refusals are `CaseActionError`s (the API maps their codes to HTTP statuses). Log lines
carry ids and outcomes only, never a case's contents.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from typing import Any

from shared import casework
from shared.bootstrap import Deps
from shared.domain import contact, reassignment
from shared.domain.consultation import Reason, needs_reason
from shared.domain.contact import ContactProfile
from shared.domain.officers import Availability, Role
from shared.domain.references import normalise_reference
from shared.sealing import Sealer
from shared.store.caseload import CaseSummary
from shared.store.outcomes import OfferStats
from shared.store.queues import QueueState
from shared.store.routing import ActionResult, CaseActionError
from shared.store.sla import SlaView

logger = logging.getLogger(__name__)

_CASE_ID = re.compile(r"^[0-9a-f]{32}\Z")
_ALERT_ID = re.compile(r"^[0-9a-f]{32}\Z")


@dataclass(frozen=True)
class Staff:
    """The authenticated caller."""

    id: str
    name: str
    role: Role
    via: str = "console"  # where the request came from: "console" (pages) or "api"

    @property
    def supervisor(self) -> bool:
        return self.role is Role.SUPERVISOR


@dataclass(frozen=True)
class CaseView:
    """A case as staff read it: the contact safety profile first, then everything else."""

    contact_safety: dict[str, Any]
    case: dict[str, str]
    submission: dict[str, Any]
    events: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    contact: ContactProfile | None = None  # None: nobody may contact this person


def case_for(deps: Deps, staff: Staff, case_id: str,
             action: str = "read") -> dict[str, str]:
    """The case hash if the caller may see it: supervisors any case, an officer only a case
    offered to or held by them (checked before any action, so state never leaks). A refusal
    is an audit entry: who, which case they asked for, what they tried."""
    well_formed = bool(_CASE_ID.match(case_id))
    case = deps.store.cases.get(case_id) if well_formed else None
    if case is None:
        _refuse(deps, staff, case_id if well_formed else "", action,
                "not_found" if well_formed else "malformed_id")
        raise CaseActionError("not_found", "case")
    if not staff.supervisor and case.get("officer") != staff.id:
        _refuse(deps, staff, case_id, action, "not_yours")
        raise CaseActionError("not_yours")
    return case


def _refuse(deps: Deps, staff: Staff, case_id: str, action: str, reason: str) -> None:
    deps.store.audit.record_refused(case_id, by=staff.id, action=action, reason=reason,
                                    now=deps.clock(), via=staff.via)
    logger.warning("case refused", extra={"case_id": case_id, "staff_id": staff.id,
                                          "action": action, "reason": reason})


def find_case(deps: Deps, staff: Staff, text: str) -> dict[str, Any]:
    """A supervisor looks a case up by the reference the reporter quotes (typed loosely:
    any case, spaces or dashes). Every search is audited, found or not."""
    reference = normalise_reference(text or "")
    if reference is None:
        raise CaseActionError("invalid_reference")
    case_id = deps.store.cases.id_for_reference(reference) or ""
    deps.store.audit.record_search(reference, by=staff.id, case_id=case_id, now=deps.clock(),
                                   via=staff.via)
    summary = deps.store.caseload.case_summary(case_id) if case_id else None
    logger.info("case search", extra={"staff_id": staff.id, "case_id": case_id,
                                      "found": summary is not None})
    if summary is None:
        raise CaseActionError("not_found", "case")
    return _with_time_left(summary, deps.clock())


def open_case(deps: Deps, staff: Staff, case_id: str,
              reason: Reason | None = None) -> CaseView:
    """The full case, unsealed, with its log and notes; every read is audited. Anyone but
    the officer the case is with gives a `reason` (DPA 2018 s.62: the log of a consultation
    shows its justification); without one, `CaseActionError("reason_needed")` before any
    personal data is read."""
    case = case_for(deps, staff, case_id)
    if reason is None and needs_reason(case, staff.id):
        raise CaseActionError("reason_needed")
    opened = deps.sealer.unseal(case["sealed"]) if case.get("sealed") else {}
    submission = dict(opened.get("submission") or {})
    allowed = contact.profile_for(str(opened.get("kind") or case.get("kind") or ""), submission)
    profile = submission.pop("contact", None)
    notes = [_open_note(deps.sealer, note) for note in deps.store.notes.list(case_id)]
    log = deps.store.cases.log(case_id)
    deps.store.audit.record_view(case_id, by=staff.id, now=deps.clock(), via=staff.via,
                                 **(reason.audit_fields() if reason else {}))
    logger.info("case viewed", extra={"case_id": case_id, "staff_id": staff.id})
    safety = {"contact_allowed": allowed is not None, "profile": profile}
    routing = {k: v for k, v in case.items() if k != "sealed"}
    return CaseView(safety, routing, submission, log, notes, allowed)


def _open_note(sealer: Sealer, note: dict[str, Any]) -> dict[str, Any]:
    return {"id": note["id"], "kind": note.get("kind", "note"), "by": note["by"],
            "at": note["at"], "text": sealer.unseal(note["sealed"]).get("text", "")}


def me(deps: Deps, staff: Staff) -> dict[str, Any]:
    """Who the caller is: role, status, shift, load and capacity."""
    held = deps.store.caseload.officer(staff.id)
    return {"id": staff.id, "name": staff.name, "role": staff.role.value,
            "status": held.status, "on_shift": held.on_shift,
            "districts": ",".join(held.districts), "skills": ",".join(held.skills),
            "load": held.load, "capacity": held.capacity}


def my_cases(deps: Deps, staff: Staff) -> dict[str, list[dict[str, Any]]]:
    """My offers (soonest deadline first) and open cases (whatever falls due soonest
    first: the SLA clock or the next Victims' Code update)."""
    now = deps.clock()
    summaries = deps.store.caseload.officer_cases(staff.id)
    offers = sorted((s for s in summaries if s.state == "offered"),
                    key=lambda s: s.offer_deadline or 0.0)
    held = sorted((s for s in summaries if s.state != "offered"),
                  key=lambda s: (s.next_due is None, s.next_due or 0.0, s.accepted_at or 0.0))
    return {"offers": [_with_time_left(s, now) for s in offers],
            "open": [_with_time_left(s, now) for s in held]}


def _with_time_left(summary: CaseSummary, now: float) -> dict[str, Any]:
    left = summary.offer_deadline - now if summary.state == "offered" \
        and summary.offer_deadline else None
    sla_left = summary.sla_due - now if summary.sla_due else None
    age = now - summary.created_at if summary.created_at else None
    update_left = summary.next_update_at - now if summary.next_update_at else None
    return asdict(summary) | {"seconds_left": left, "sla_seconds_left": sla_left,
                              "age_seconds": age, "update_seconds_left": update_left}


# officer actions (the store scripts check ownership and state again, atomically)
def accept(deps: Deps, staff: Staff, case_id: str) -> dict[str, str]:
    case_for(deps, staff, case_id, "accept")
    return _done(deps, "accept", case_id, staff, casework.accept(deps, case_id, staff.id))


def decline(deps: Deps, staff: Staff, case_id: str, reason: str,
            note: str | None = None) -> dict[str, str]:
    """Decline with a reason; an optional note is kept sealed on the case."""
    case_for(deps, staff, case_id, "decline")
    result = casework.decline(deps, case_id, staff.id, reason)
    if note and note.strip():
        _add_note(deps, staff, case_id, note, kind="decline")
    return _done(deps, "decline", case_id, staff, result)


def record_contact(deps: Deps, staff: Staff, case_id: str, channel: str,
                   outcome: str) -> dict[str, str]:
    case_for(deps, staff, case_id, "contact")
    result = casework.record_contact(deps, case_id, staff.id, channel, outcome)
    return _done(deps, "contact", case_id, staff, result)


def record_update(deps: Deps, staff: Staff, case_id: str, channel: str,
                  note: str | None = None) -> dict[str, str]:
    """A Victims' Code update given to the reporter, on a channel their contact safety
    profile allows (else `channel_not_allowed`); the optional note is sealed on the case.
    The next update falls due by the case's schedule."""
    case = case_for(deps, staff, case_id, "update")
    opened = deps.sealer.unseal(case["sealed"]) if case.get("sealed") else {}
    profile = contact.profile_for(str(opened.get("kind") or case.get("kind") or ""),
                                  dict(opened.get("submission") or {}))
    if profile is None or not profile.allows(channel):
        raise CaseActionError("channel_not_allowed", channel)
    result = casework.record_update(deps, case_id, staff.id, channel)
    if note and note.strip():
        _add_note(deps, staff, case_id, note, kind="update")
    return _done(deps, "update", case_id, staff, result) | {"next_update_at": result.extra}


def add_note(deps: Deps, staff: Staff, case_id: str, text: str) -> dict[str, str]:
    """A note on a case the caller may see (sealed at rest)."""
    case_for(deps, staff, case_id, "note")
    return _add_note(deps, staff, case_id, text, kind="note")


def _add_note(deps: Deps, staff: Staff, case_id: str, text: str,
              kind: str) -> dict[str, str]:
    now = deps.clock()
    note_id = deps.store.notes.add(case_id, by=staff.id, now=now, kind=kind,
                                   sealed=deps.sealer.seal({"text": text}))
    deps.store.audit.record_note(case_id, note_id, by=staff.id, via=staff.via, now=now)
    logger.info("note added", extra={"case_id": case_id, "staff_id": staff.id,
                                     "note_id": note_id})
    return {"note_id": note_id, "case_id": case_id, "at": f"{now:.6f}"}


def close(deps: Deps, staff: Staff, case_id: str, outcome: str) -> dict[str, str]:
    """Close with an outcome: the holding officer, or any supervisor."""
    case_for(deps, staff, case_id, "close")
    result = casework.close(deps, case_id, staff.id, outcome,
                            supervisor=staff.supervisor)
    return _done(deps, "close", case_id, staff, result)


class NeedsReason(CaseActionError):
    """A reassignment refused because routing would pass the officer over (away, off duty,
    off shift, at capacity, without a skill the case requires); giving a reason overrides
    it. `message` names the officer and every problem, e.g. 'Sam Patel is off shift.'"""

    def __init__(self, code: str, detail: str, *, officer_id: str, message: str,
                 problems: tuple[reassignment.Problem, ...]) -> None:
        super().__init__(code, detail)
        self.officer_id, self.message, self.problems = officer_id, message, problems


def reassign(deps: Deps, staff: Staff, case_id: str, officer_id: str | None,
             reason: str | None = None) -> dict[str, Any]:
    """A supervisor gives the case to an officer, or (None) sends it back to routing. An
    officer routing would pass over is refused (`NeedsReason`) unless `reason` says why.
    An override is audited with what it overrode and the id of the note that keeps the
    reason: free text may name people, so it is sealed like every note, never written in
    plain into the events or the audit trail (the case's CaseReassigned event says what
    was overridden)."""
    case = case_for(deps, staff, case_id, "reassign")
    reason = (reason or "").strip()
    held = deps.store.caseload.officer(officer_id) if officer_id else None
    try:
        result = casework.reassign(deps, case_id, staff.id, officer_id, override=bool(reason))
    except CaseActionError as exc:
        if held is None or exc.code not in reassignment.CODES:
            raise
        found = reassignment.parse(exc.detail)
        raise NeedsReason(exc.code, exc.detail, officer_id=held.id, problems=found,
                          message=reassignment.sentence(held.name or held.id, found,
                                                        load=held.load,
                                                        capacity=held.capacity)) from None
    overridden: tuple[reassignment.Problem, ...] = ()
    if held is not None and reason:
        overridden = reassignment.problems(
            status=held.status, on_shift=held.on_shift, load=held.load,
            capacity=held.capacity, skills=held.skills,
            required=[s for s in case.get("required_skills", "").split(",") if s])
    audit = {"officer_id": result.extra or ""}
    if overridden:
        words = ", ".join(p.token.replace("_", " ").replace(":", " ") for p in overridden)
        note = _add_note(deps, staff, case_id, f"Reassigned past routing's rules ({words}): "
                         f"{reason}", kind="override")
        audit |= {"overridden": ",".join(p.token for p in overridden),
                  "override_note": note["note_id"]}
    done: dict[str, Any] = _done(deps, "reassign", case_id, staff, result, audit)
    done["officer_id"] = result.extra
    if overridden:
        done |= {"overridden": [p.token for p in overridden], "override_reason": reason,
                 "override_note": audit["override_note"]}
    return done


def _done(deps: Deps, action: str, case_id: str, staff: Staff,
          result: ActionResult, audit: dict[str, str] | None = None) -> dict[str, str]:
    """Every staff action on a case ends here: audited (DPA 2018 s.62) and logged."""
    deps.store.audit.record_case_action(case_id, action, by=staff.id, via=staff.via,
                                        now=deps.clock(), state=result.state,
                                        **(audit or {}))
    logger.info("case %s", action, extra={"case_id": case_id, "staff_id": staff.id,
                                          "state": result.state,
                                          "override": bool(audit and "overridden" in audit)})
    return {"case_id": case_id, "state": result.state}


def set_availability(deps: Deps, staff: Staff, officer_id: str,
                     status: Availability) -> dict[str, Any]:
    """Set a status (one's own, or any officer's by a supervisor) and record who did it."""
    try:
        available = casework.set_availability(deps, officer_id, status)
    except KeyError:
        raise CaseActionError("not_found", "officer") from None
    deps.store.audit.record_availability(officer_id, status.value, by=staff.id,
                                         now=deps.clock())
    logger.info("availability set", extra={"officer_id": officer_id, "staff_id": staff.id,
                                           "status": status.value})
    return {"officer_id": officer_id, "status": status.value, "available_for_cases": available}


# supervisor read models and alerts
def queues(deps: Deps) -> QueueState:
    return deps.store.queues.by_district(list(deps.force.districts), now=deps.clock())


def offer_stats(deps: Deps, hours: int) -> OfferStats:
    now = deps.clock()
    return deps.store.outcomes.offer_stats(since=now - hours * 3600, until=now)


def sla(deps: Deps) -> SlaView:
    s = deps.settings
    return deps.store.sla.clocks(
        now=deps.clock(), accept_targets={p: s.sla_accept_seconds(p) for p in (1, 2, 3, 4)},
        contact_targets={p: s.sla_contact_seconds(p) for p in (1, 2, 3, 4)},
        review_targets={p: s.sla_review_seconds(p) for p in (1, 2, 3, 4)})


def acknowledge_alert(deps: Deps, staff: Staff, alert_id: str) -> dict[str, str]:
    """Mark an open alert handled by this supervisor (404 unknown, 409 already handled)."""
    alert = deps.store.alerts.get(alert_id) if _ALERT_ID.match(alert_id) else None
    if alert is None:
        raise CaseActionError("not_found", "alert")
    # Checked first: acknowledging again would overwrite who handled it.
    if alert.get("status") != "open" or not deps.store.alerts.acknowledge(
            alert_id, by=staff.id, now=deps.clock()):
        raise CaseActionError("illegal_transition", alert.get("status", ""))
    logger.info("alert acknowledged", extra={"alert_id": alert_id, "staff_id": staff.id})
    return deps.store.alerts.get(alert_id) or alert

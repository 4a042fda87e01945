"""Receiving a report or callback: place, triage, seal, store atomically, then publish.

The one creation path for a case, whoever collects it: the public pages and the partner API
(intake), and a 101 call handler taking it by phone in the console (`taken_by`). Services
never import each other, so it lives here, beside the schemas that validate its input."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from marshmallow import ValidationError

from shared.bootstrap import Deps
from shared.domain import contact, repeat, risk, updates
from shared.domain.alerts import emergency_alert
from shared.domain.cases import Case, Placement, new_case, with_new_reference
from shared.domain.checks import new_check_code
from shared.domain.languages import language_code, language_skill
from shared.domain.model import CaseKind, HateStrand, Priority
from shared.domain.notifications import Kind, Notification, RecipientType, new_notification_id
from shared.domain.risk import Risk
from shared.domain.triage import Triage, TriageFacts, triage
from shared.geography import Force
from shared.store import CreateOutcome

logger = logging.getLogger(__name__)

EMERGENCY_STEPS = (
    "Call 999 now. If you cannot speak, call 999 and press 55 when asked. Deaf, hard of "
    "hearing or speech-impaired: use text relay on 18000, or text 999 if you have "
    "registered for emergencySMS. We have also alerted the duty supervisor."
)
REPORT_STEPS = (
    "Thank you for telling us. A liaison officer for the area will read your report. "
    "If you asked us to, they will contact you only in the ways and at the times you "
    "said are safe. Keep your reference: quote it if you call 101 about this."
)
ANONYMOUS_STEPS = (
    "Thank you for telling us. Your report is anonymous, so we will not contact you. "
    "A liaison officer will review it and it helps protect others. Keep your reference "
    "if you want to add to it later by calling 101."
)
CALLBACK_STEPS = (
    "A liaison officer for your area will contact you in the ways and at the times you "
    "said are safe, using the name you gave. Keep your reference: quote it if you call 101."
)


class IdempotencyConflict(Exception):
    """The idempotency key was already used for a different submission."""


@dataclass(frozen=True)
class Receipt:
    case_id: str
    reference: str
    priority: Priority
    created_at: float
    next_steps: str
    status: str = "received"
    duplicate: bool = False
    check_code: str = ""  # shown once: only its HMAC is kept, so a replay has none

    @property
    def emergency(self) -> bool:
        return self.priority is Priority.EMERGENCY

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "status": self.status,
            "priority": self.priority.label,
            "emergency": self.emergency,
            "next_steps": self.next_steps,
            "created_at": datetime.fromtimestamp(self.created_at, UTC),
            "check_code": self.check_code or None,
        }


IDEMPOTENCY_LABEL = b"liaison idempotency fingerprint v1"
CHECK_CODE_LABEL = b"liaison check code v1"


def check_digest(secret_key: str, case_id: str, code: str) -> str:
    """What the case keeps of its check code (`check_digest`): an HMAC-SHA256 under a key
    derived from LIAISON_SECRET_KEY and bound to the case, so the stored value can neither
    be checked against guessed codes without the secret nor moved to another case."""
    key = hmac.new(secret_key.encode(), CHECK_CODE_LABEL, hashlib.sha256).digest()
    return hmac.new(key, f"{case_id}:{code}".encode(), hashlib.sha256).hexdigest()


def submission_fingerprint(secret_key: str, canonical: str) -> str:
    """What `idem:{key}` keeps of a submission to tell a replay from a conflict: an
    HMAC-SHA256 under a key derived from LIAISON_SECRET_KEY (HMAC(secret, label)), so the
    stored value cannot be checked against a guess of what someone wrote."""
    key = hmac.new(secret_key.encode(), IDEMPOTENCY_LABEL, hashlib.sha256).digest()
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def _legacy_match(stored: str, canonical: str) -> bool:
    """A key stored before fingerprints were keyed (a bare SHA-256) still replays until it
    expires (LIAISON_IDEMPOTENCY_TTL) instead of turning a client's retry into a conflict."""
    return hmac.compare_digest(stored, hashlib.sha256(canonical.encode()).hexdigest())


def receive(kind: CaseKind, data: dict[str, Any], deps: Deps, *,
            idempotency_key: str | None = None, via: str = "intake-api",
            partner: str = "", taken_by: str = "") -> Receipt:
    """Store a validated submission as a new case and announce it to the router.

    Its collection is audited (`CaseCollected`, `via` intake-form or intake-api) just after
    the case is created, not in the create script's transaction: a crash between the two
    loses that audit entry only, never the case. A repeated submission (same
    Idempotency-Key) collects nothing new and is not audited again.

    The case gets a check code (for "check my report"): returned once in the receipt, kept
    only as its HMAC, and sealed into the acknowledgement only when that is worded plainly
    (`ack_code`). `partner` names the reporting centre whose key sent it; `taken_by` the
    staff id of the 101 call handler who took it by phone (the case's `taken_by`, with
    `channel` phone, and the collection audited as theirs)."""
    placement = place(kind, data, deps.force)
    result = triage(TriageFacts(
        kind=kind,
        happening_now=bool(data.get("happening_now")),
        in_danger=bool(data.get("in_danger")),
        injuries=bool(data.get("injuries")),
        threats=bool(data.get("threats")),
        repeat_incident=bool(data.get("repeat_incident")),
    ))
    now = deps.clock()
    anonymous = bool(data.get("anonymous"))
    contactable = contact.contactable(kind.value, data)  # the one contact-safety rule
    people = repeat.person_digests(deps.settings.secret_key,
                                   contact.profile_for(kind.value, data))
    earlier = deps.store.cases.earlier_cases(people, since=now - repeat.LINK_WINDOW_SECONDS) \
        if people else []
    rating, result = _rate(data, result, enhanced=bool(earlier))
    case = new_case(
        kind, result, placement, now=now,
        strands=tuple(HateStrand(s) for s in data.get("hate_strands", [])),
        required_skills=skills_for(data.get("needs") or {}),
        anonymous=anonymous, contactable=contactable,
    )
    code = new_check_code()
    update_due = updates.first_due(deps.settings.update_schedules(), enhanced=bool(earlier),
                                   created_at=now) if contactable else None
    case = replace(case, extra={
        "check_digest": check_digest(deps.settings.secret_key, case.id, code),
        **({"partner": partner} if partner else {}),
        **({"taken_by": taken_by, "channel": "phone"} if taken_by else {}),
        **care_fields(rating, [ref for _, ref in earlier], update_due)})
    ack_code = _ack_code(kind, data, code, deps)
    plain = _canonical(data)
    sealed = deps.sealer.seal({"kind": kind.value, "submission": json.loads(plain)})
    fingerprint = submission_fingerprint(deps.settings.secret_key, plain)
    idem = (idempotency_key, fingerprint, deps.settings.idempotency_ttl) \
        if idempotency_key else None
    message = deps.publisher.route_message(case.id)  # enqueued by the store script itself
    for _ in range(5):
        alert = emergency_alert(case) if result.emergency else None
        notices = notifications_for(case)
        outcome, seen = deps.store.cases.create(
            case, sealed, outbox_due=now + deps.settings.outbox_grace_seconds,
            accept_due=now + deps.settings.sla_accept_seconds(int(case.priority)),
            idempotency=idem, alert=alert, notifications=notices, route_message=message,
            ack_code=ack_code, update_due=update_due, people=people,
            link_window=repeat.LINK_WINDOW_SECONDS)
        if outcome is not CreateOutcome.REFERENCE_TAKEN:
            break
        case = with_new_reference(case)
    if outcome is CreateOutcome.DUPLICATE and seen is not None:
        if not hmac.compare_digest(seen.fingerprint, fingerprint) \
                and not _legacy_match(seen.fingerprint, plain):
            raise IdempotencyConflict("this Idempotency-Key was used for a different submission")
        return _existing_receipt(seen.case_id, deps)
    if outcome is not CreateOutcome.CREATED:
        raise RuntimeError(f"case could not be stored: {outcome.value}")
    logger.info("case received", extra={"case_id": case.id, "kind": kind.value,
                                        "priority": result.priority.label,
                                        "district": placement.district or "force"})
    if message is None:
        deps.publisher.route_case(case.id)
    for notice in notices:  # emergencies at once; the acknowledgement can ride the sweeper
        if notice.kind is Kind.EMERGENCY:
            deps.publisher.deliver_notification(notice.id)
    # after the case is stored and announced: a failure here cannot hold up its routing
    deps.store.audit.record_collected(case.id, kind=kind.value, via=via, now=now,
                                      partner=partner, taken_by=taken_by)
    return Receipt(case.id, case.reference, case.priority, case.created_at,
                   next_steps_for(case), check_code=code)


def _rate(data: dict[str, Any], result: Triage, *, enhanced: bool) -> tuple[Risk, Triage]:
    """The risk rating, and the triage with the priority it and an enhanced (repeat-victim)
    case raise (shared/domain/risk.py); the reasons name each raise."""
    rating = risk.rate(risk.RiskFacts(
        fear_for_safety=str(data.get("fear_for_safety") or ""),
        vulnerable=str(data.get("vulnerable") or ""),
        repeat_incident=bool(data.get("repeat_incident")), threats=bool(data.get("threats")),
        in_danger=bool(data.get("in_danger")), happening_now=bool(data.get("happening_now"))))
    priority = risk.raise_priority(result.priority, high_risk=rating is Risk.HIGH,
                                   enhanced=enhanced)
    reasons = result.reasons + (("high_risk",) if rating is Risk.HIGH else ()) \
        + (("repeat_victim",) if enhanced else ())
    return rating, Triage(priority, reasons)


def care_fields(rating: Risk, linked_refs: list[str], update_due: float | None) -> dict[str, str]:
    """Victim care's plain routing fields: the risk rating, whether the case is enhanced
    (a repeat victim) and the earlier references it links to, and the Victims' Code update
    clock (`next_update_at`, only for a case someone may contact)."""
    fields = {"risk": rating.value, "enhanced": "1" if linked_refs else "0",
              "linked_refs": ",".join(linked_refs), "updates_given": "0"}
    if update_due is not None:
        fields["next_update_at"] = f"{update_due:.6f}"
    return fields


def _ack_code(kind: CaseKind, data: dict[str, Any], code: str, deps: Deps) -> str:
    """The check code sealed for the acknowledgement, or "" when that message must not
    carry it: no acknowledgement at all, or discreet wording (a code and a "check your
    report" line in a preview would give away that there is a report)."""
    profile = contact.profile_for(kind.value, data)
    if profile is None or profile.wording is not contact.Wording.PLAIN:
        return ""
    return deps.sealer.seal({"check_code": code})


def notifications_for(case: Case) -> list[Notification]:
    """Emergencies alert the supervisors now; a contactable reporter gets an acknowledgement
    (which the notifier sends only as their contact safety profile allows)."""
    wanted = []
    if case.emergency:
        wanted.append((Kind.EMERGENCY, RecipientType.SUPERVISORS))
    if case.contactable:
        wanted.append((Kind.REPORTER_ACK, RecipientType.REPORTER))
    return [Notification(new_notification_id(), kind, rtype, "", case.id, case.reference,
                         int(case.priority), case.placement.district or "", case.created_at)
            for kind, rtype in wanted]


def place(kind: CaseKind, data: dict[str, Any], force: Force) -> Placement:
    """Which district a case routes to: reports by incident place, callbacks by home area."""
    home, home_out = _resolve(data.get("home_area"), "home_area", force)
    if kind is CaseKind.CALLBACK:
        return Placement(district=home, home_district=home, out_of_area=home_out)
    where = data.get("incident_location") or {}
    incident, incident_out = (None, False) if where.get("online") else \
        _resolve(where, "incident_location", force)
    return Placement(district=incident or home, incident_district=incident,
                     home_district=home, out_of_area=incident_out and not home)


def _resolve(location: dict[str, Any] | None, field_name: str,
             force: Force) -> tuple[str | None, bool]:
    if not location:
        return None, False
    district = location.get("district")
    if district:
        if not force.has_district(district):
            raise ValidationError({field_name: {"district": [
                f"Choose a district in {force.name}'s area from the list."]}})
        return district, False
    postcode = location.get("postcode")
    if postcode:
        found = force.district_for_postcode(postcode)
        return found, found is None
    return None, False


def skills_for(needs: dict[str, Any]) -> tuple[str, ...]:
    """Officer skills the person's needs require (a BSL interpreter, a language other than
    English): never relaxed — the case waits for an officer who has them, and the
    supervisors are told at once. Nothing a person asks for is merely preferred today."""
    skills = []
    if needs.get("bsl_interpreter"):
        skills.append("bsl")
    language = language_code(needs.get("language") or "")  # a code from the fixed list
    if language:
        skills.append(language_skill(language))  # `lang:other`: an interpreter to arrange
    return tuple(skills)


def next_steps_for(case: Case) -> str:
    if case.emergency:
        return EMERGENCY_STEPS
    if case.kind is CaseKind.CALLBACK:
        return CALLBACK_STEPS
    return ANONYMOUS_STEPS if case.anonymous else REPORT_STEPS


def _existing_receipt(case_id: str, deps: Deps) -> Receipt:
    stored = deps.store.cases.get(case_id)
    if stored is None:  # the idempotency key outlived its case: treat as unknown
        raise IdempotencyConflict("this Idempotency-Key refers to a case that no longer exists")
    priority = Priority(int(stored["priority"]))
    kind = CaseKind(stored["kind"])
    steps = EMERGENCY_STEPS if priority is Priority.EMERGENCY else (
        CALLBACK_STEPS if kind is CaseKind.CALLBACK else
        ANONYMOUS_STEPS if stored.get("anonymous") == "1" else REPORT_STEPS)
    return Receipt(case_id, stored["reference"], priority, float(stored["created_at"]),
                   steps, duplicate=True)


def _canonical(data: dict[str, Any]) -> str:
    def default(value: Any) -> Any:
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, date):
            return value.isoformat()
        raise TypeError(type(value).__name__)

    return json.dumps(data, default=default, sort_keys=True, separators=(",", ":"))

"""What the officer's and the supervisor's case pages show alike besides the case itself:
the contact safety profile as `shared.domain.contact` reads it (with whether now is a safe
time), and the SLA clock running on the case."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.console.display import windows_text
from services.console.handlers import CaseView
from shared.bootstrap import Deps
from shared.domain.contact import Wording


def clock(deps: Deps, case_id: str) -> dict[str, Any]:
    """The SLA clock running on the case (first contact, or the review of a case nobody may
    contact), when it runs out and whether it has."""
    summary = deps.store.caseload.case_summary(case_id)
    if summary is None or summary.sla_due is None or summary.sla_clock == "accept":
        return {}
    return {"kind": summary.sla_clock, "due": summary.sla_due,
            "overdue": summary.sla_due < deps.clock()}


def linked(deps: Deps, case: dict[str, str]) -> list[tuple[str, str]]:
    """A repeat victim's earlier references, each with the case id to link to (the page
    opens it only if the reader may: the usual access rules), or "" when it is gone.
    References only: nothing of those cases' contents is read here."""
    refs = [r for r in (case.get("linked_refs") or "").split(",") if r]
    return [(ref, deps.store.cases.id_for_reference(ref) or "") for ref in refs]


def _safe_now(profile: Any, deps: Deps) -> dict[str, Any]:
    """Is now a safe time to contact them, by their own safe times? If not, the next one."""
    if profile is None:
        return {}
    tz = ZoneInfo(deps.force.timezone)
    now = datetime.fromtimestamp(deps.clock(), UTC)
    if profile.any_time:
        return {"now": True, "any_time": True}
    nxt = profile.next_safe(now, tz)
    if nxt is None:
        return {"now": False, "next": None}
    if nxt <= now:
        return {"now": True}
    return {"now": False, "next": nxt.timestamp()}


def safety(view: CaseView, deps: Deps | None = None) -> dict[str, Any]:
    """The contact safety profile as `shared.domain.contact` reads it: anything not stated
    counts as the cautious answer (no voicemail, a shared device, discreet wording)."""
    raw = view.contact_safety.get("profile") or {}
    anonymous = view.case.get("anonymous") == "1"
    profile = view.contact
    return {
        "safe_now": _safe_now(profile, deps) if deps is not None else {},
        "allowed": profile is not None, "anonymous": anonymous,
        "channels": list(profile.channels) if profile else [],
        "no_contact": "" if profile else "No contact — anonymous" if anonymous
        else "No contact — they did not agree to be contacted",
        "name": _text(raw.get("name")), "pronouns": _text(raw.get("pronouns")),
        "phone": profile.phone if profile else "", "email": profile.email if profile else "",
        "times": (["Any time"] if profile.any_time
                  else windows_text([w.to_dict() for w in profile.windows])) if profile else [],
        "voicemail_ok": bool(profile and profile.voicemail_ok),
        "shared_device": not profile or profile.shared_device,
        "discreet": not profile or profile.wording is Wording.DISCREET,
    }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""

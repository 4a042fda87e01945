"""A new case as the routing side sees it: plain routing fields, no personal data."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from shared.domain.model import CaseKind, CaseState, HateStrand, Priority
from shared.domain.references import new_reference
from shared.domain.triage import Triage


@dataclass(frozen=True)
class Placement:
    """Where a case routes: the district to try first (None = force-wide) and why."""

    district: str | None
    incident_district: str | None = None
    home_district: str | None = None
    out_of_area: bool = False


@dataclass(frozen=True)
class Case:
    """A case's routing fields. Personal data lives sealed beside it, never here."""

    id: str
    reference: str
    kind: CaseKind
    state: CaseState
    priority: Priority
    placement: Placement
    created_at: float
    triage_reasons: tuple[str, ...] = ()
    strands: tuple[HateStrand, ...] = ()
    required_skills: tuple[str, ...] = ()   # never relaxed: the case waits for them
    preferred_skills: tuple[str, ...] = ()  # break ties between eligible officers
    anonymous: bool = False
    contactable: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def emergency(self) -> bool:
        return self.priority is Priority.EMERGENCY

    def routing_fields(self) -> dict[str, str]:
        """The flat, plain (non-personal) fields stored in the case hash."""
        p = self.placement
        return {
            "id": self.id,
            "reference": self.reference,
            "kind": self.kind.value,
            "state": self.state.value,
            "priority": str(int(self.priority)),
            "district": p.district or "",
            "incident_district": p.incident_district or "",
            "home_district": p.home_district or "",
            "out_of_area": "1" if p.out_of_area else "0",
            "strands": ",".join(s.value for s in self.strands),
            "required_skills": ",".join(self.required_skills),
            "preferred_skills": ",".join(self.preferred_skills),
            "triage": ",".join(self.triage_reasons),
            "anonymous": "1" if self.anonymous else "0",
            "contactable": "1" if self.contactable else "0",
            "emergency": "1" if self.emergency else "0",
            "created_at": f"{self.created_at:.6f}",
            "updated_at": f"{self.created_at:.6f}",
            **self.extra,
        }


def new_case(kind: CaseKind, triage: Triage, placement: Placement, *, now: float,
             strands: tuple[HateStrand, ...] = (), required_skills: tuple[str, ...] = (),
             preferred_skills: tuple[str, ...] = (), anonymous: bool = False,
             contactable: bool = False) -> Case:
    """A freshly received case with a new id and reference."""
    return Case(
        id=uuid.uuid4().hex,
        reference=new_reference(),
        kind=kind,
        state=CaseState.RECEIVED,
        priority=triage.priority,
        placement=placement,
        created_at=now,
        triage_reasons=triage.reasons,
        strands=strands,
        required_skills=required_skills,
        preferred_skills=preferred_skills,
        anonymous=anonymous,
        contactable=contactable,
    )


CONTACT_CLOCK = "contact"  # time to first contact
REVIEW_CLOCK = "review"    # time to review and close or refer: nobody may contact them


def clock_after_accept(fields: Mapping[str, str]) -> str:
    """The SLA clock an accepted case runs on: first contact, or — for a case nobody may
    contact (anonymous, or no consent or channel) — review."""
    return CONTACT_CLOCK if fields.get("contactable") == "1" else REVIEW_CLOCK


def with_new_reference(case: Case) -> Case:
    """The same case under a fresh reference (after a collision)."""
    return replace(case, reference=new_reference())

"""Supervisor alerts: something a person must look at now (no personal data in them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.domain.cases import Case

EMERGENCY_CASE = "emergency_case"
EMERGENCY_WAITING = "emergency_waiting"  # an emergency nobody eligible can take now
SKILL_WAITING = "skill_waiting"          # waiting for an officer with a required skill
SLA_BREACH = "sla_breach"                # not accepted, or not contacted, in time
REVIEW_BREACH = "review_breach"          # a non-contactable case not reviewed in time
UPDATE_OVERDUE = "update_overdue"        # a Victims' Code update to the reporter is late


@dataclass(frozen=True)
class Alert:
    id: str
    kind: str
    case_id: str
    reference: str
    district: str
    priority: int
    created_at: float


def emergency_alert(case: Case) -> Alert:
    """The urgent alert raised for the duty supervisor when an emergency case arrives."""
    return Alert(
        id=uuid.uuid4().hex,
        kind=EMERGENCY_CASE,
        case_id=case.id,
        reference=case.reference,
        district=case.placement.district or "",
        priority=int(case.priority),
        created_at=case.created_at,
    )

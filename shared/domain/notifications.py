"""Notification records: who is told what about which case — never the account itself.

A record is written in the same atomic step as the change it announces; the notifier
renders its text at send time from the reference, priority and district only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    OFFER = "offer"                        # to an officer: a case is offered to you
    EMERGENCY = "emergency"                # to supervisors: an emergency case arrived
    EMERGENCY_WAITING = "emergency_waiting"  # to supervisors: nobody could take one
    WAITING_TOO_LONG = "waiting_too_long"  # to supervisors: nobody eligible for a while
    SKILL_WAITING = "skill_waiting"        # to supervisors: waits for a required skill
    SLA_BREACH = "sla_breach"              # to supervisors: not accepted / contacted in time
    REVIEW_BREACH = "review_breach"        # to supervisors: a no-contact case not reviewed
    UPDATE_OVERDUE = "update_overdue"      # to supervisors: a Victims' Code update is late
    OFFICER_SET_AWAY = "officer_set_away"  # to supervisors: two offers expired in a row
    DEAD_LETTER = "dead_letter"            # to supervisors: work that kept failing
    REASSIGNED = "reassigned"              # to an officer: a supervisor gave you a case
    REPORTER_ACK = "reporter_ack"          # to the reporter, only as their profile allows


class RecipientType(StrEnum):
    OFFICER = "officer"
    SUPERVISORS = "supervisors"
    REPORTER = "reporter"


class Status(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"  # e.g. a reporter acknowledgement their profile does not allow
    DEAD = "dead"


@dataclass(frozen=True)
class Notification:
    id: str
    kind: Kind
    recipient_type: RecipientType
    recipient: str          # officer id, or "" for supervisors / the reporter
    case_id: str
    reference: str
    priority: int
    district: str
    created_at: float

    def fields(self) -> dict[str, str]:
        """The flat hash stored in Redis."""
        return {
            "id": self.id, "kind": self.kind.value, "recipient_type": self.recipient_type.value,
            "recipient": self.recipient, "case_id": self.case_id, "reference": self.reference,
            "priority": str(self.priority), "district": self.district,
            "created_at": f"{self.created_at:.6f}", "status": Status.PENDING.value,
            "attempts": "0",
        }


def new_notification_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Message:
    """What a channel sends: a subject, a plain-text body, and the public facts behind them."""

    subject: str
    body: str
    kind: str = ""
    reference: str = ""
    priority: str = ""
    district: str = ""
    link: str = ""

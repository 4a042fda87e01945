"""The vocabulary of the service: case kinds, roles, strands, channels, priorities, states."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class CaseKind(StrEnum):
    REPORT = "report"
    CALLBACK = "callback"


class ReporterRole(StrEnum):
    VICTIM = "victim"
    WITNESS = "witness"
    ON_BEHALF = "on_behalf"
    THIRD_PARTY_CENTRE = "third_party_centre"


class HateStrand(StrEnum):
    SEXUAL_ORIENTATION = "sexual_orientation"
    TRANSGENDER_IDENTITY = "transgender_identity"
    DISABILITY = "disability"
    RACE = "race"
    RELIGION = "religion"


class ContactChannel(StrEnum):
    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    NONE = "none"


class Priority(IntEnum):
    """Lower is more urgent; the waiting queue orders by this, then by age."""

    EMERGENCY = 1
    HIGH = 2
    STANDARD = 3
    ADVICE = 4

    @property
    def label(self) -> str:
        return self.name.lower()


class CaseState(StrEnum):
    RECEIVED = "received"
    WAITING = "waiting"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    CONTACTED = "contacted"
    CLOSED = "closed"


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Named time windows offered on the public forms; the JSON API takes explicit windows.
TIME_PRESETS: dict[str, dict[str, object]] = {
    "weekday_daytime": {"days": list(WEEKDAYS[:5]), "start": "09:00", "end": "17:00"},
    "weekday_evening": {"days": list(WEEKDAYS[:5]), "start": "17:00", "end": "21:00"},
    "weekend_daytime": {"days": list(WEEKDAYS[5:]), "start": "09:00", "end": "17:00"},
    "weekend_evening": {"days": list(WEEKDAYS[5:]), "start": "17:00", "end": "21:00"},
}

"""Officers and staff: districts, skills, capacity, status and rota (DESIGN §4)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from shared.domain.rota import Rota


class Role(StrEnum):
    OFFICER = "officer"        # takes cases
    SUPERVISOR = "supervisor"  # watches queues, reassigns, gets alerts
    ADMIN = "admin"            # manages accounts
    CALL_HANDLER = "call_handler"  # 101 contact centre: records callbacks and reports by
    # phone for the caller; sees no cases and is never offered one (routing: role officer)


class Availability(StrEnum):
    AVAILABLE = "available"
    AWAY = "away"
    OFF_DUTY = "off_duty"


class Withdrawal(StrEnum):
    """Why an officer lost their pending offers (the `OfferWithdrawn` event's reason).

    An officer may hold an offer only while they could be given one: role officer, status
    available, on shift and not on leave. Load is no reason: a capacity lowered below what
    someone holds takes nothing back. The rule runs atomically in the officer scripts
    (`shared/lua/lib.lua`, `unavailable_because`); only leave versus shift end is told
    apart here, from the rota.
    """

    OFFICER_AWAY = "officer_away"
    OFFICER_OFF_DUTY = "officer_off_duty"
    ROLE_CHANGED = "role_changed"
    ON_LEAVE = "on_leave"
    SHIFT_ENDED = "shift_ended"


def off_shift_reason(rota: Rota, at: datetime) -> Withdrawal:
    """Why someone off shift at `at` is off: on leave, or outside their shifts."""
    return Withdrawal.ON_LEAVE if rota.on_leave(at) else Withdrawal.SHIFT_ENDED


@dataclass(frozen=True)
class Officer:
    id: str
    name: str
    districts: tuple[str, ...]        # home first, then cover districts
    role: Role = Role.OFFICER
    skills: frozenset[str] = frozenset()
    capacity: int = 3
    status: Availability = Availability.AVAILABLE
    rota: Rota = field(default_factory=Rota)
    email: str = ""
    channels: tuple[str, ...] = ()

    @property
    def home(self) -> str:
        return self.districts[0] if self.districts else ""

    def fields(self) -> dict[str, str]:
        """The officer hash as stored (load and timers are kept by the store)."""
        return {
            "id": self.id, "name": self.name, "role": self.role.value,
            "districts": ",".join(self.districts), "skills": ",".join(sorted(self.skills)),
            "capacity": str(self.capacity), "status": self.status.value,
            "rota": self.rota.to_json(), "email": self.email,
            "channels": json.dumps(list(self.channels)),
        }

    @classmethod
    def from_fields(cls, data: Mapping[str, str]) -> Officer:
        return cls(
            id=data["id"], name=data.get("name", ""),
            districts=tuple(d for d in data.get("districts", "").split(",") if d),
            role=Role(data.get("role", "officer")),
            skills=frozenset(s for s in data.get("skills", "").split(",") if s),
            capacity=int(data.get("capacity", "0")),
            status=Availability(data.get("status", "off_duty")),
            rota=Rota.from_json(data.get("rota", "")),
            email=data.get("email", ""),
            channels=tuple(json.loads(data.get("channels") or "[]")),
        )

    def with_status(self, status: Availability) -> Officer:
        return replace(self, status=status)


def new_officer_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reasons: tuple[str, ...]   # why not, in words a supervisor reads


def eligibility(officer: Officer, *, load: int, at: datetime, tz: ZoneInfo,
                required_skills: Iterable[str] = (), excluded: bool = False) -> Eligibility:
    """Whether an officer may be offered a case now, and if not, every reason why."""
    reasons = []
    if officer.role is not Role.OFFICER:
        reasons.append(f"role is {officer.role.value}")
    if officer.status is not Availability.AVAILABLE:
        reasons.append(f"status is {officer.status.value.replace('_', ' ')}")
    if not officer.rota.on_shift(at, tz):
        reasons.append("not on shift now")
    if load >= officer.capacity:
        reasons.append(f"at capacity ({load}/{officer.capacity})")
    missing = sorted(set(required_skills) - officer.skills)
    if missing:
        reasons.append("lacks " + ", ".join(missing))
    if excluded:
        reasons.append("already declined or missed this case")
    return Eligibility(not reasons, tuple(reasons))

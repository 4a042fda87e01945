"""Staff and cases for tests that need them without the intake or router services.

A case is stored as intake stores it (routing fields plain, the submission sealed — with a
canary in the account, so tests can prove where personal data does and does not go), and
routed with the store's routing script directly (`store.routing.assign`), as the router's
`assign_case` does.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from shared.config import Settings
from shared.domain.cases import Placement, new_case
from shared.domain.model import CaseKind
from shared.domain.officers import Availability, Officer, Role
from shared.domain.rings import plan_for_case
from shared.domain.rota import always_on
from shared.domain.routing import routable_states
from shared.domain.triage import TriageFacts, triage
from shared.geography import load_force
from shared.sealing import Sealer
from shared.store import CreateOutcome, Store
from shared.store.routing import RouteResult
from tests import payloads

CANARY = "CANARY-Zq7x-9d41-Kestrel"  # the same value as tests.conftest.CANARY


def add_staff(store: Store, staff_id: str, *districts: str, role: Role = Role.OFFICER,
              capacity: int = 2, status: Availability = Availability.AVAILABLE,
              skills: tuple[str, ...] = ()) -> str:
    """Save an always-on-shift officer (or supervisor) and return their new API token."""
    officer = Officer(id=staff_id, name=staff_id.title(), districts=districts, role=role,
                      capacity=capacity, status=status, skills=frozenset(skills),
                      rota=always_on())
    store.officers.save(officer, on_shift=True, next_change=None)
    return store.officers.issue_token(staff_id)


def submission(kind: CaseKind = CaseKind.REPORT, canary: str = CANARY) -> dict[str, Any]:
    """A valid submission whose account (and contact name) carry the canary."""
    if kind is CaseKind.CALLBACK:
        return payloads.callback(reason=f"Please call me about {canary}.")
    return payloads.report(what_happened=f"Shouted abuse at the bus stop. {canary}",
                           contact=payloads.contact(name=f"Sam {canary}"))


def create_case(store: Store, settings: Settings, district: str | None = "watford", *,
                kind: CaseKind = CaseKind.REPORT, emergency: bool = False,
                threats: bool = True, now: float | None = None,
                canary: str = CANARY) -> str:
    """Store a new contactable case with a sealed submission; returns its id."""
    now = time.time() if now is None else now
    result = triage(TriageFacts(kind=kind, in_danger=emergency, threats=threats))
    case = new_case(kind, result, Placement(district, district, district), now=now,
                    contactable=True)
    sealed = Sealer(settings.sealing_keys).seal(
        {"kind": kind.value, "submission": submission(kind, canary)})
    outcome, _ = store.cases.create(
        case, sealed, outbox_due=now + settings.outbox_grace_seconds,
        accept_due=now + settings.sla_accept_seconds(int(case.priority)))
    assert outcome is CreateOutcome.CREATED
    return case.id


def route(store: Store, settings: Settings, case_id: str, *,
          now: float | None = None) -> RouteResult:
    """Offer the case to the best eligible officer, or make it wait (the router's policy)."""
    force = load_force(settings.force_file or None)
    plan = plan_for_case(store.cases.get(case_id) or {}, has_district=force.has_district,
                         neighbours=force.neighbours, ring_times=settings.ring_times)
    return store.routing.assign(
        case_id, now=time.time() if now is None else now, plan=plan,
        timeouts={p: settings.offer_timeout(p) for p in (1, 2, 3, 4)},
        from_states=routable_states(), grace=settings.outbox_grace_seconds,
        alert_id=uuid.uuid4().hex)


def routed_case(store: Store, settings: Settings, district: str | None = "watford", *,
                now: float | None = None, **kw: Any) -> tuple[str, RouteResult]:
    """Create and route a case; returns (case id, routing result)."""
    case_id = create_case(store, settings, district, now=now, **kw)
    return case_id, route(store, settings, case_id, now=now)

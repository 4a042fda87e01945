"""A small world for routing tests: a store, a clock, officers and cases."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.router.handlers import assign_case
from shared import casework
from shared.bootstrap import Deps, bootstrap
from shared.config import Settings
from shared.domain.cases import Placement, new_case
from shared.domain.model import CaseKind
from shared.domain.officers import Availability, Officer, Role
from shared.domain.rota import Rota, always_on
from shared.domain.triage import TriageFacts, triage
from shared.geography import Force, load_force
from shared.store import Store
from shared.store.routing import RouteResult
from tests.fakes import FakePublisher


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class World:
    store: Store
    settings: Settings = field(default_factory=Settings.for_tests)
    clock: Clock = field(default_factory=Clock)
    publisher: FakePublisher = field(default_factory=FakePublisher)
    force: Force = field(default_factory=load_force)

    @property
    def deps(self) -> Deps:
        return bootstrap(self.settings, store=self.store, publisher=self.publisher,
                         force=self.force, clock=self.clock, channels={})

    def officer(self, officer_id: str, *districts: str, capacity: int = 2,
                skills: tuple[str, ...] = (), on_shift: bool = True,
                status: Availability = Availability.AVAILABLE, role: Role = Role.OFFICER,
                rota: Rota | None = None) -> Officer:
        officer = Officer(id=officer_id, name=officer_id.title(), districts=districts,
                          skills=frozenset(skills), capacity=capacity, status=status,
                          role=role, rota=rota or always_on())
        self.store.officers.save(officer, on_shift=on_shift, next_change=None,
                                 now=self.clock())
        return officer

    def case(self, district: str | None = "watford", *, kind: CaseKind = CaseKind.REPORT,
             emergency: bool = False, high: bool = False, preferred: tuple[str, ...] = (),
             required: tuple[str, ...] = (), contactable: bool = True) -> str:
        facts = TriageFacts(kind=kind, in_danger=emergency, threats=high)
        case = new_case(kind, triage(facts), Placement(district), now=self.clock(),
                        preferred_skills=preferred, anonymous=not contactable,
                        contactable=contactable)
        if required:
            case.extra["required_skills"] = ",".join(required)
        outcome, _ = self.store.cases.create(
            case, "sealed", outbox_due=self.clock() + 5, accept_due=self.clock() + 3600)
        assert outcome.value == "created"
        return case.id

    def route(self, case_id: str) -> RouteResult:
        return assign_case(case_id, self.deps)

    def new_routed_case(self, district: str | None = "watford", **kw: object) -> RouteResult:
        return self.route(self.case(district, **kw))  # type: ignore[arg-type]

    def state(self, case_id: str) -> str:
        return (self.store.cases.get(case_id) or {}).get("state", "")

    def holder(self, case_id: str) -> str:
        return (self.store.cases.get(case_id) or {}).get("officer", "")

    def decline(self, case_id: str, reason: str = "other") -> None:
        casework.decline(self.deps, case_id, self.holder(case_id), reason)

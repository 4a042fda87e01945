"""A hypothesis state machine over offer / accept / decline / expire / close / availability
and time passing (rings widening by case age, the sweeper), checked after every step
against the routing invariants (on fakeredis with Lua)."""

from __future__ import annotations

import fakeredis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from services.router.sweeper import sweep
from shared import casework
from shared.domain import reassignment
from shared.domain.model import CaseKind
from shared.domain.officers import Availability
from shared.domain.rings import officer_ring, plan_for_case
from shared.domain.routing import FORCE_WIDE
from shared.messaging import ASSIGN_CASE
from shared.store import Store
from shared.store.routing import CaseActionError
from tests.support.world import World

OFFICERS = {"a": ("watford", 1), "b": ("watford", 2), "c": ("three_rivers", 2),
            "d": ("broxbourne", 1)}
OPEN = ("offered", "accepted", "contacted")


class Routing(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = World(Store(fakeredis.FakeRedis(decode_responses=True), prefix="h:"))
        for officer_id, (district, capacity) in OFFICERS.items():
            self.world.officer(officer_id, district, capacity=capacity)
        self.cases: list[str] = []

    def _pick(self, index: int, states: tuple[str, ...]) -> str | None:
        matching = [c for c in self.cases if self.world.state(c) in states]
        return matching[index % len(matching)] if matching else None

    @rule(district=st.sampled_from(["watford", "three_rivers", "broxbourne", "stevenage", None]),
          emergency=st.booleans(), callback=st.booleans())
    def report(self, district: str | None, emergency: bool, callback: bool) -> None:
        kind = CaseKind.CALLBACK if callback else CaseKind.REPORT
        result = self.world.new_routed_case(district, emergency=emergency, kind=kind)
        self.cases.append(result.case_id)
        assert result.outcome in ("offered", "waiting")

    @rule(index=st.integers(0, 50))
    def accept(self, index: int) -> None:
        case_id = self._pick(index, ("offered",))
        if case_id:
            casework.accept(self.world.deps, case_id, self.world.holder(case_id))

    @rule(index=st.integers(0, 50))
    def decline(self, index: int) -> None:
        case_id = self._pick(index, ("offered",))
        if case_id:
            self.world.decline(case_id)
            self.world.route(case_id)  # the re-published message arrives

    @rule(seconds=st.integers(0, 7200))
    def time_passes_and_offers_expire(self, seconds: int) -> None:
        self.world.clock.advance(seconds)
        for case_id in self.world.store.routing.due("offers", self.world.clock()):
            try:
                casework.expire(self.world.deps, case_id)
            except CaseActionError as exc:  # withdrawn just now: an earlier expiry in this
                # pass set its officer away, which takes back all their pending offers
                assert exc.code == "illegal_transition" and self.world.state(case_id) == \
                    "waiting"
            self.world.route(case_id)

    @rule(seconds=st.sampled_from([1, 30, 59, 60, 61, 120, 300, 900, 1800, 7200, 28800]))
    def time_passes_and_the_sweeper_runs(self, seconds: int) -> None:
        """Rings open by case age (the sweeper's ring pass), offers expire; then the router
        takes every message the sweep and casework published."""
        self.world.clock.advance(seconds)
        sweep(self.world.deps)
        sent, self.world.publisher.sent = self.world.publisher.sent, []
        for case_id in dict.fromkeys(i for task, i in sent if task == ASSIGN_CASE):
            self.world.route(case_id)

    @rule(index=st.integers(0, 50))
    def contact(self, index: int) -> None:
        case_id = self._pick(index, ("accepted",))
        if case_id:
            casework.record_contact(self.world.deps, case_id, self.world.holder(case_id),
                                    "phone", "spoke")

    @rule(index=st.integers(0, 50))
    def close(self, index: int) -> None:
        case_id = self._pick(index, ("accepted", "contacted"))
        if case_id:
            casework.close(self.world.deps, case_id, self.world.holder(case_id), "advice_given")

    @rule(index=st.integers(0, 50), to=st.sampled_from([None, *OFFICERS]))
    def supervisor_reassigns(self, index: int, to: str | None) -> None:
        case_id = self._pick(index, ("waiting", *OPEN))
        if case_id:
            try:
                casework.reassign(self.world.deps, case_id, "sup", to)
            except CaseActionError as exc:
                # without a reason: refused for anyone routing would pass over
                assert exc.code in ("same_officer", *reassignment.CODES)
            if self.world.state(case_id) == "waiting":
                self.world.route(case_id)

    @rule(officer=st.sampled_from(sorted(OFFICERS)),
          status=st.sampled_from(list(Availability)))
    def availability(self, officer: str, status: Availability) -> None:
        casework.set_availability(self.world.deps, officer, status)

    @rule(index=st.integers(0, 50))
    def an_illegal_move_changes_nothing(self, index: int) -> None:
        case_id = self._pick(index, ("waiting", "offered"))
        if case_id:
            before = self.world.store.cases.get(case_id)
            try:
                casework.close(self.world.deps, case_id, "a", "advice_given")
            except CaseActionError:
                assert self.world.store.cases.get(case_id) == before

    @invariant()
    def loads_equal_open_cases_and_capacity_holds(self) -> None:
        store = self.world.store
        holders: dict[str, list[str]] = {}
        for officer_id, (_, capacity) in OFFICERS.items():
            held = store.officers.cases(officer_id)
            assert len(held) <= capacity
            for case_id in held:
                holders.setdefault(case_id, []).append(officer_id)
        for case_id in self.cases:
            case = store.cases.get(case_id)
            assert case is not None
            if case["state"] in OPEN:
                assert holders.get(case_id) == [case["officer"]]  # exactly one officer
            else:
                assert case_id not in holders

    @invariant()
    def availability_sets_match_eligibility(self) -> None:
        store = self.world.store
        anywhere = set(store.officers.available_in(FORCE_WIDE))
        for officer_id, (_, capacity) in OFFICERS.items():
            officer = store.officers.get(officer_id)
            assert officer is not None
            eligible = officer.status is Availability.AVAILABLE \
                and store.officers.load(officer_id) < capacity
            assert (officer_id in anywhere) == eligible

    @invariant()
    def nothing_is_lost(self) -> None:
        for case_id in self.cases:
            assert self.world.state(case_id) in ("waiting", *OPEN, "closed")

    @invariant()
    def a_waiting_case_is_queued_and_due_to_widen_or_at_its_last_ring(self) -> None:
        """Never stranded: in the waiting queue, and either routing is pending (outbox) or
        it is at its plan's last ring or on the ring timer at exactly its next ring's time."""
        store, force = self.world.store, self.world.force
        redis, keys = store.redis, store.keys
        for case_id in self.cases:
            case = store.cases.get(case_id) or {}
            due = redis.zscore(keys.ring_due, case_id)
            if case["state"] != "waiting":
                assert due is None
                continue
            assert redis.zscore(keys.waiting, case_id) is not None
            if redis.zscore(keys.outbox, case_id) is not None:
                continue
            plan = plan_for_case(case, has_district=force.has_district,
                                 neighbours=force.neighbours,
                                 ring_times=self.world.settings.ring_times)
            wider = [r for r in plan.rings if r.index > int(case["ring"])]
            assert due == (wider[0].opens_at if wider else None)

    @invariant()
    def routing_offers_only_within_the_ring_reached(self) -> None:
        store, force = self.world.store, self.world.force
        near = {d: force.neighbours(d) for d in force.districts}
        for case_id in self.cases:
            case = store.cases.get(case_id) or {}
            if case["state"] != "offered" or store.cases.log(case_id)[-1]["type"] != \
                    "CaseOffered":
                continue  # a supervisor's reassignment goes wherever they say
            district = case.get("district") or ""
            home = OFFICERS[case["officer"]][0]
            ring = officer_ring(district, (home,), near) if district else 2
            assert ring <= int(case["ring"])


Routing.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])
test_routing_invariants = Routing.TestCase

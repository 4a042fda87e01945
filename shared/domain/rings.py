"""Widening rings and aging (DESIGN §5): how far a waiting case may reach, and when.

A case is offered first in its own district (ring 0), then in the neighbouring districts
(ring 1), then force-wide (ring 2) — as a contact centre's "bullseye" router widens. A
ring opens at a fixed **age of the case** (seconds since it was received), set per
priority by `LIAISON_RINGS`, never counted from the last step:

    1 (emergency)  0 / 60 / 120      a neighbour within a minute, anyone within two:
                                     for someone in danger any officer now beats a local
                                     officer later.
    2 (high)       0 / 300 / 900     five minutes for a local officer, fifteen for anyone.
    3 (standard)   0 / 1800 / 7200   half an hour locally, two hours before force-wide.
    4 (advice)     0 / 7200 / 28800  an advice callback is worth waiting hours for a local
                                     officer who knows the area, its services and groups.

Skipping: a ring with nobody on shift who could ever take the case (role officer, on
shift, not off duty, with every required skill, not excluded for this case — whatever
their load) is skipped at once; a ring whose such officers are only busy (at capacity, or
away) holds the case until the next ring's time. The last ring never cancels: the case
waits there. A ring reached is never given back.

Preferred skills relax on the same clock: they break ties between equally loaded officers
only while the case is younger than its neighbours-ring time (the time it would widen
anyway); after that the best officer by load and idle time takes it. Required skills
(BSL, a language the person needs) never relax, in any ring.

The pick itself (route.lua) is atomic; this module computes its inputs: the rings with
the absolute times they open, and when preferred skills stop counting. `reached` is the
same walk in Python, for tests and for reading the rule.

Aging (`waiting_score`): the waiting queue is ordered by `created_at - WAITING_LEAD[p]`,
lowest first, so priority is worth a fixed head start in seconds of waiting: high leads
standard by 4 hours, standard leads advice by 8 hours (high leads advice by 12), and an
emergency leads by about 31 years — more than any real wait, so it always comes first. A
standard case that has waited 8 hours ranks with a fresh advice callback, and a longer
wait overtakes it. lib.lua's `waiting_score` has the same table (a test checks they agree).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from shared.domain.routing import FORCE_WIDE, pools_for

DISTRICT_RING, NEIGHBOURS_RING, FORCE_RING = 0, 1, 2
RING_NAMES = {DISTRICT_RING: "district", NEIGHBOURS_RING: "neighbours", FORCE_RING: "force_wide"}

# LIAISON_RINGS's default: seconds of case age at which the district, neighbours and
# force-wide rings open, by priority (see the module docstring for why).
DEFAULT_RINGS = "1=0/60/120,2=0/300/900,3=0/1800/7200,4=0/7200/28800"

HOUR = 3600
# Seconds of waiting each priority is worth in the waiting queue (lib.lua WAIT_LEAD).
WAITING_LEAD: Mapping[int, int] = {1: 1_000_000_000, 2: 12 * HOUR, 3: 8 * HOUR, 4: 0}

RingTimes = tuple[int, int, int]


@dataclass(frozen=True)
class Ring:
    index: int                    # DISTRICT_RING, NEIGHBOURS_RING or FORCE_RING
    districts: tuple[str, ...]    # availability sets to pick from (FORCE_WIDE: everyone)
    opens_at: float               # epoch seconds: when the case is old enough for it

    def as_arg(self) -> dict[str, object]:
        """The ring as route.lua reads it."""
        return {"index": self.index, "districts": list(self.districts),
                "opens_at": self.opens_at}


@dataclass(frozen=True)
class Plan:
    rings: tuple[Ring, ...]
    prefer_until: float           # epoch seconds: preferred skills count before this


def parse_rings(text: str) -> dict[int, RingTimes]:
    """'1=0/60/120,2=...' -> {priority: (district, neighbours, force-wide) seconds}; every
    priority 1-4, three whole seconds each, the first 0, never decreasing."""
    shape = ("is not like '1=0/60/120,2=0/300/900,3=0/1800/7200,4=0/7200/28800' (seconds "
             "of case age at which the district, neighbours and force-wide rings open)")
    result: dict[int, RingTimes] = {}
    try:
        for part in text.split(","):
            key, _, value = part.partition("=")
            times = tuple(int(t) for t in value.split("/"))
            if len(times) != 3:
                raise ValueError(part)
            result[int(key)] = (times[0], times[1], times[2])
    except ValueError:
        raise ValueError(f"{text!r} {shape}") from None
    if sorted(result) != [1, 2, 3, 4]:
        raise ValueError("give rings for each priority 1 (emergency) to 4 (advice)")
    for priority, times in sorted(result.items()):
        if times[0] != 0:
            raise ValueError(f"priority {priority}: the district ring opens at 0 (a new case "
                             "is always offered locally first)")
        if not times[0] <= times[1] <= times[2]:
            raise ValueError(f"priority {priority}: ring times must not decrease "
                             f"({'/'.join(map(str, times))})")
    return result


def plan(district: str | None, neighbours: Callable[[str], Sequence[str]], *,
         created_at: float, times: RingTimes) -> Plan:
    """The rings for a case received at `created_at` (district None: out of area, force-wide
    from the start) and when its preferred skills stop counting."""
    pools = pools_for(district, neighbours)
    rings: list[Ring] = []
    for pool in pools:
        if pool == [FORCE_WIDE]:
            index = FORCE_RING
        elif pool == [district]:
            index = DISTRICT_RING
        else:
            index = NEIGHBOURS_RING
        # the first ring is open from the start, whichever it is
        opens = created_at + (times[index] if rings else 0)
        rings.append(Ring(index, tuple(pool), opens))
    return Plan(tuple(rings), prefer_until=created_at + times[NEIGHBOURS_RING])


def plan_for_case(case: Mapping[str, str], *, has_district: Callable[[str], bool],
                  neighbours: Callable[[str], Sequence[str]],
                  ring_times: Callable[[int], RingTimes]) -> Plan:
    """`plan` for a case hash (district, priority, created_at); a district the force does
    not have routes force-wide."""
    district = case.get("district") or None
    if district and not has_district(district):
        district = None
    priority = int(case.get("priority") or 4)
    return plan(district, neighbours, created_at=float(case.get("created_at") or 0),
                times=ring_times(priority))


def reached(rings: Sequence[Ring], now: float, staffed: Callable[[Ring], bool],
            prior: int = -1) -> tuple[int, float | None]:
    """The widest ring open now and when the next one opens (None: the last is open).

    Ring k opens when the case is old enough for it, or when it was reached before
    (`prior`), or at once when ring k-1 has nobody on shift who could take the case.
    route.lua walks the same way, trying each open ring's officers as it goes."""
    widest = rings[0].index
    for i, ring in enumerate(rings):
        if i > 0 and now < ring.opens_at and ring.index > prior and staffed(rings[i - 1]):
            return widest, ring.opens_at
        widest = ring.index
    return widest, None


def prefers(case_plan: Plan, now: float) -> bool:
    """Whether preferred skills still break ties (relaxed once the neighbours time comes)."""
    return now < case_plan.prefer_until


def officer_ring(case_district: str, officer_districts: Sequence[str],
                 near: Mapping[str, Sequence[str]]) -> int:
    """Which ring of a case in `case_district` an officer sits in (drain: the officer may
    take it only when that ring has been reached)."""
    if case_district in officer_districts:
        return DISTRICT_RING
    if set(near.get(case_district, ())) & set(officer_districts):
        return NEIGHBOURS_RING
    return FORCE_RING


def waiting_score(priority: int, created_at: float) -> float:
    """Where a waiting case stands (lowest first): its age plus its priority's head start."""
    return created_at - WAITING_LEAD.get(priority, 0)

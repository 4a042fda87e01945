"""Case work shared by the console (officers, supervisors) and the router (sweeper).

Each function applies one atomic store action, then announces the follow-up work by id:
a case sent back to routing is re-published, a freed officer is offered the next waiting
case, a notification record is handed to the notifier. A lost announcement is harmless:
the outbox and notification timers make the sweeper repeat it.
"""

from __future__ import annotations

import logging

from shared.bootstrap import Deps
from shared.domain.cases import REVIEW_CLOCK, clock_after_accept
from shared.domain.officers import Availability
from shared.domain.routing import MISSED_OFFERS_BEFORE_AWAY
from shared.domain.states import Action, sources
from shared.domain.updates import schedule_name
from shared.store.officers import OfficerChange
from shared.store.routing import ActionResult, RouteResult

logger = logging.getLogger(__name__)

DECLINE_REASONS = ("no_capacity", "conflict_of_interest", "skills", "going_off_shift", "other")
CONTACT_CHANNELS = ("phone", "sms", "email", "in_person", "other")
CONTACT_OUTCOMES = ("spoke", "left_message", "no_answer", "unsafe_to_continue", "other")
CLOSE_OUTCOMES = ("advice_given", "crime_recorded", "referred", "no_further_action",
                  "could_not_contact", "duplicate", "withdrawn", "other")


def accept(deps: Deps, case_id: str, officer_id: str) -> ActionResult:
    """The officer takes the offered case; its first-contact SLA clock starts — or, for a
    case nobody may contact (anonymous), its review clock."""
    case = deps.store.cases.get(case_id) or {}
    priority = int(case.get("priority") or 4)
    clock = clock_after_accept(case)
    seconds = deps.settings.sla_review_seconds(priority) if clock == REVIEW_CLOCK \
        else deps.settings.sla_contact_seconds(priority)
    return deps.store.routing.act(
        "accept", case_id, actor=officer_id, now=deps.clock(),
        from_states=sources(Action.ACCEPT), own=True, sla_clock=clock, sla_seconds=seconds)


def decline(deps: Deps, case_id: str, officer_id: str, reason: str) -> ActionResult:
    """The officer declines; the case goes to the next officer, never back to them."""
    result = deps.store.routing.act("decline", case_id, actor=officer_id, now=deps.clock(),
                                    from_states=sources(Action.DECLINE), own=True,
                                    reason=reason)
    _follow_up(deps, case_id, result, reroute=True)
    return result


def expire(deps: Deps, case_id: str) -> ActionResult:
    """An offer passed its deadline: re-route; two misses in a row set the officer away."""
    result = deps.store.routing.act("expire", case_id, actor="", now=deps.clock(),
                                    from_states=sources(Action.EXPIRE), own=False,
                                    reason="expired", away_after=MISSED_OFFERS_BEFORE_AWAY)
    _follow_up(deps, case_id, result, reroute=True, drain_freed=result.extra != "1")
    if result.extra == "1":
        logger.info("officer set away after repeated expiries",
                    extra={"officer_id": result.freed_officer})
        deps.publisher.deliver_notification(result.notification_id)
    return result


def record_contact(deps: Deps, case_id: str, officer_id: str, channel: str,
                   outcome: str) -> ActionResult:
    """Contact made (or attempted); the first one stops the first-contact SLA clock."""
    return deps.store.routing.act(
        "contact", case_id, actor=officer_id, now=deps.clock(),
        from_states=sources(Action.CONTACT), own=True, channel=channel,
        outcome=outcome)


def record_update(deps: Deps, case_id: str, officer_id: str, channel: str) -> ActionResult:
    """A Victims' Code update given to the reporter (it counts as contact made): the next
    one falls due by the case's schedule (standard, or enhanced for a repeat victim);
    `ActionResult.extra` is when (epoch seconds)."""
    case = deps.store.cases.get(case_id) or {}
    steps = deps.settings.update_schedules()[schedule_name(case.get("enhanced") == "1")]
    return deps.store.routing.act(
        "update", case_id, actor=officer_id, now=deps.clock(),
        from_states=sources(Action.UPDATE), own=True, channel=channel, steps=list(steps))


def close(deps: Deps, case_id: str, actor_id: str, outcome: str, *,
          supervisor: bool = False) -> ActionResult:
    """Close with an outcome; the officer's freed capacity goes to the next waiting case."""
    from_states = sources(Action.CLOSE_ANY if supervisor else Action.CLOSE)
    result = deps.store.routing.act("close", case_id, actor=actor_id, now=deps.clock(),
                                    from_states=from_states, own=not supervisor,
                                    outcome=outcome)
    _follow_up(deps, case_id, result, reroute=False)
    return result


def reassign(deps: Deps, case_id: str, supervisor_id: str,
             to_officer: str | None, override: bool = False) -> ActionResult:
    """A supervisor gives the case to a named officer, or sends it back to routing. An
    officer routing would pass over (away, off duty, off shift, at capacity, without a
    required skill: shared/domain/reassignment.py) is refused — CaseActionError naming the
    first problem, every one in its detail — unless `override` (the supervisor gave a
    reason: the console keeps it as a sealed note); the CaseReassigned event then says what
    was overridden."""
    result = deps.store.routing.act(
        "reassign", case_id, actor=supervisor_id, now=deps.clock(),
        from_states=sources(Action.REASSIGN),
        own=False, to_officer=to_officer or "", override=override,
        timeouts={str(p): s for p, s in deps.offer_timeouts().items()})
    if to_officer:
        deps.publisher.deliver_notification(result.notification_id)
    _follow_up(deps, case_id, result, reroute=not to_officer)
    return result


def set_availability(deps: Deps, officer_id: str, status: Availability) -> bool:
    """Set an officer's status: away or off duty takes back their pending offers at once
    (routed again now); available offers them the next waiting case. KeyError: no such
    officer."""
    change = deps.store.officers.set_status(officer_id, status, now=deps.clock())
    officer_changed(deps, officer_id, change)
    return change.available


def officer_changed(deps: Deps, officer_id: str, change: OfficerChange) -> None:
    """After any change to an officer (status, rota, leave, record): re-route the pending
    offers they lost — the store took them back in the same atomic step, and left them in
    the outbox in case this message is lost — and offer them waiting work if they can."""
    for case_id in change.withdrawn:
        logger.info("pending offer withdrawn", extra={"case_id": case_id,
                                                      "officer_id": officer_id})
        deps.publisher.route_case(case_id)
    if change.available:
        drain(deps, officer_id)


def drain(deps: Deps, officer_id: str) -> RouteResult:
    """Offer a freed officer the best waiting case (priority plus age) they can take: one
    whose reached ring includes them (shared/domain/rings.py)."""
    near = {code: list(deps.force.neighbours(code)) for code in deps.force.districts}
    result = deps.store.routing.drain(officer_id, now=deps.clock(), timeouts=deps.offer_timeouts(),
                                      grace=deps.settings.outbox_grace_seconds, near=near)
    if result.outcome == "offered":
        logger.info("waiting case offered", extra={"case_id": result.case_id,
                                                   "officer_id": officer_id})
        deps.publisher.deliver_notification(result.notification_id)
    return result


def _follow_up(deps: Deps, case_id: str, result: ActionResult, *, reroute: bool,
               drain_freed: bool = True) -> None:
    if reroute:
        deps.publisher.route_case(case_id)
    for other in result.withdrawn:  # e.g. an officer set away loses their other offers
        deps.publisher.route_case(other)
    if drain_freed and result.freed_officer:
        drain(deps, result.freed_officer)

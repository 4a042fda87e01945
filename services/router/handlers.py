"""Routing a case: rings from geography and its age, one atomic pick, poison-work
protection."""

from __future__ import annotations

import logging
import uuid

from shared.bootstrap import Deps
from shared.domain.rings import plan_for_case
from shared.domain.routing import routable_states
from shared.store.routing import RouteResult

logger = logging.getLogger(__name__)


def assign_case(case_id: str, deps: Deps) -> RouteResult:
    """Offer the case to the best eligible officer, or make it wait; idempotent."""
    store = deps.store
    case = store.cases.get(case_id)
    if case is None:
        logger.warning("route: unknown case", extra={"case_id": case_id})
        return RouteResult("missing")
    attempts = store.cases.count_route_attempt(case_id)
    if attempts > deps.settings.route_max_attempts:
        store.cases.dead_letter(case_id, now=deps.clock(), reason="routing kept failing")
        nid = store.alerts.raise_for_case("dead_letter", case_id, now=deps.clock())
        if nid:
            deps.publisher.deliver_notification(nid)
        logger.error("route: dead-lettered after %s attempts", attempts,
                     extra={"case_id": case_id})
        return RouteResult("dead_letter", case_id)
    force = deps.force
    district = case.get("district") or None
    plan = plan_for_case(case, has_district=force.has_district, neighbours=force.neighbours,
                         ring_times=deps.settings.ring_times)
    result = store.routing.assign(
        case_id, now=deps.clock(), plan=plan, timeouts=deps.offer_timeouts(),
        from_states=routable_states(), grace=deps.settings.outbox_grace_seconds,
        alert_id=uuid.uuid4().hex)
    for notification_id in result.notification_ids:  # the offer, or supervisor alerts
        deps.publisher.deliver_notification(notification_id)
    logger.info("route: %s", result.outcome, extra={
        "case_id": case_id, "officer_id": result.officer_id, "district": district or "force"})
    return result

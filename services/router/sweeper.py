"""The sweeper (Celery beat, every few seconds): the timers that make the system safe.

Expires offers past their deadline, applies rota changes (and rechecks officers put on the
rota timer), routes again the waiting cases whose next routing ring opens now,
re-publishes cases and notifications whose messages may have been lost, and raises SLA
(accept, first contact, review), Victims' Code update-overdue and long-wait alerts; once
a day (whichever sweeper claims the day first) it erases the personal data of cases past retention.
Timers live in Redis sorted sets; nothing here relies on a Celery countdown.
A sweep that did something logs one INFO line with the counts; one that found nothing due
logs only at DEBUG (it runs every few seconds).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from services.router import handlers
from shared import casework, retention
from shared.bootstrap import Deps
from shared.domain.alerts import REVIEW_BREACH, SLA_BREACH, UPDATE_OVERDUE
from shared.domain.officers import off_shift_reason
from shared.store import StoreUnavailable
from shared.store.routing import CaseActionError

logger = logging.getLogger(__name__)
REPUBLISH_BACKOFF = 30  # seconds until the same case or notification is re-published again
RETENTION_BATCH = 1000  # cases erased per sweep at most (a backlog goes on at the next sweep)


@dataclass
class SweepReport:
    expired: list[str] = field(default_factory=list)
    shift_changes: list[str] = field(default_factory=list)
    rings_opened: list[str] = field(default_factory=list)
    republished_cases: list[str] = field(default_factory=list)
    republished_notifications: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many of each thing this sweep did, by field name."""
        return {name: len(items) for name, items in vars(self).items()}


def sweep(deps: Deps) -> SweepReport:
    """One pass over every timer that is due."""
    report = SweepReport()
    now = deps.clock()
    for step in (_expire_offers, _apply_rota, _open_rings, _republish_cases,
                 _republish_notifications, _raise_alerts, _apply_retention):
        try:
            step(deps, now, report)
        except StoreUnavailable:
            raise
        except Exception:  # one bad step must not stop the others
            logger.exception("sweep step failed", extra={"step": step.__name__})
    log_report(report)
    return report


def log_report(report: SweepReport) -> None:
    """INFO with the counts (never ids of people) when the sweep did something, else DEBUG."""
    done = {name: n for name, n in report.counts().items() if n}
    if done:
        logger.info("sweep: %s", ", ".join(f"{name} {n}" for name, n in done.items()),
                    extra=done)
    else:
        logger.debug("sweep: nothing due")


def _expire_offers(deps: Deps, now: float, report: SweepReport) -> None:
    for case_id in deps.store.routing.due("offers", now):
        try:
            casework.expire(deps, case_id)
            report.expired.append(case_id)
        except CaseActionError as exc:  # accepted or re-routed meanwhile
            logger.info("offer not expired: %s", exc.code, extra={"case_id": case_id})
            deps.store.routing.clear_timer("offers", case_id)


def _apply_rota(deps: Deps, now: float, report: SweepReport) -> None:
    """Officers whose shift or leave starts or ends now (or who asked to be looked at again):
    on shift, offered waiting work; off shift or on leave, their pending offers re-routed."""
    tz = ZoneInfo(deps.force.timezone)
    at = datetime.fromtimestamp(now, UTC)
    for officer_id in deps.store.officers.rota_due(now):
        officer = deps.store.officers.get(officer_id)
        if officer is None:
            deps.store.officers.set_on_shift(officer_id, False, None, now=now)
            continue
        change = officer.rota.next_change(at, tz)
        result = deps.store.officers.set_on_shift(
            officer_id, officer.rota.on_shift(at, tz), change.timestamp() if change else None,
            now=now, why_off=off_shift_reason(officer.rota, at))
        report.shift_changes.append(officer_id)
        casework.officer_changed(deps, officer_id, result)


def _open_rings(deps: Deps, now: float, report: SweepReport) -> None:
    """Waiting cases whose next routing ring opens now (the `ring_due` timer, set by the
    routing script at the time the ring opens): routed again here, so a ring opens within
    one sweep of its time. Reads only the cases due (at most 200 a sweep). Each is put back
    a little first, so a case whose routing fails is tried again later, not every sweep;
    routing it sets the timer to its next ring, or clears it."""
    for case_id in deps.store.routing.due("ring_due", now):
        deps.store.routing.postpone("ring_due", case_id, now + REPUBLISH_BACKOFF)
        handlers.assign_case(case_id, deps)
        report.rings_opened.append(case_id)


def _republish_cases(deps: Deps, now: float, report: SweepReport) -> None:
    for case_id in deps.store.routing.due("outbox", now):
        deps.store.routing.postpone("outbox", case_id, now + REPUBLISH_BACKOFF)
        deps.publisher.route_case(case_id)
        report.republished_cases.append(case_id)


def _republish_notifications(deps: Deps, now: float,
                             report: SweepReport) -> None:
    for notification_id in deps.store.routing.due_notifications(now):
        deps.store.routing.postpone_notification(notification_id, now + REPUBLISH_BACKOFF)
        deps.publisher.deliver_notification(notification_id)
        report.republished_notifications.append(notification_id)


def _raise_alerts(deps: Deps, now: float, report: SweepReport) -> None:
    # (report name, timer, due before, alert kind)
    checks = [("sla_accept", "sla_accept", now, SLA_BREACH),
              ("sla_contact", "sla_contact", now, SLA_BREACH),
              ("sla_review", "sla_review", now, REVIEW_BREACH),
              ("update_overdue", "updates_due", now, UPDATE_OVERDUE),  # Victims' Code
              ("waiting_too_long", "waiting_since", now - deps.settings.wait_alert_seconds,
               "waiting_too_long")]
    for kind, timer, cutoff, alert_kind in checks:
        for case_id in deps.store.routing.due(timer, cutoff):
            nid = deps.store.alerts.raise_for_case(alert_kind, case_id, now=now, timer=timer,
                                                   grace=deps.settings.outbox_grace_seconds)
            if nid:
                deps.publisher.deliver_notification(nid)
                report.alerts.append(f"{kind}:{case_id}")


def _apply_retention(deps: Deps, now: float, report: SweepReport) -> None:
    """The daily retention purge (shared/retention.py), by the one sweeper that claims the
    day; it logs and audits its own counts. A backlog (the first run, say) is erased
    RETENTION_BATCH at a time, one batch a sweep, to keep each sweep short."""
    if deps.store.retention.claim_daily_run(now):
        result = retention.run(deps.store, deps.settings, now=now, by="system",
                               limit=RETENTION_BATCH)
        if result.more:
            deps.store.retention.release_daily_run()

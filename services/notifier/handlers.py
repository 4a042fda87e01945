"""`deliver`: send one stored notification to every recipient and channel, at most once each.

Each recipient x channel is claimed (SET NX) before sending and marked after, so a second
delivery of the same id sends nothing and a retry re-sends only what failed. Failures are
retried with exponential backoff and full jitter through the notify outbox (the router's
sweeper re-publishes due ids); past the last attempt the notification is dead-lettered and
supervisors are told. Logs carry ids, kinds, channel names and error type names only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from services.notifier.templates import render
from shared.bootstrap import Deps
from shared.channels import ChannelError, ChannelRefused
from shared.config import Settings
from shared.domain import contact
from shared.domain.notifications import Kind, Message, RecipientType, Status
from shared.sealing import SealingError

logger = logging.getLogger(__name__)

CLAIM_TTL = 120          # seconds a claim protects a send in progress (> any channel timeout)
MAX_BACKOFF = 15 * 60    # seconds
REPORTER = "reporter"    # the recipient label of a reporter's acknowledgement
PERMANENT = f"{ChannelRefused.__name__}:"  # the outbound fence refused it: never retried


@dataclass(frozen=True)
class Target:
    recipient: str   # staff id, or "reporter"
    channel: str     # adapter name: inapp, email, webhook, apprise
    slot: str        # claim name, unique per address (a hash, never the address itself)
    address: str


def backoff(attempt: int, base: float, jitter: Callable[[float], float]) -> float:
    """Delay before retry number `attempt` (1, 2, ...): base x 2^(attempt-1), capped, jittered."""
    ceiling = min(MAX_BACKOFF, base * 2 ** (attempt - 1))
    return max(1.0, jitter(ceiling))


def deliver(notification_id: str, deps: Deps) -> str:
    """Deliver a stored notification; returns the outcome (sent, skipped, retry, dead, ...)."""
    notes = deps.store.notifications
    record = notes.get(notification_id)
    if record is None:
        logger.warning("notification not found", extra={"notification_id": notification_id})
        return "missing"
    if record.get("status") != Status.PENDING.value:
        return "noop"
    now = deps.clock()
    kind = record.get("kind", "")
    plan: list[tuple[Target, Message]] | str
    try:
        if record.get("recipient_type") == RecipientType.REPORTER.value:
            plan = _reporter_plan(record, deps, now)
        else:
            plan = _staff_plan(record, deps)
    except SealingError as exc:
        return _failed(record, deps, now, type(exc).__name__)
    if isinstance(plan, str):
        return plan
    if not plan:
        notes.finish(notification_id, Status.SKIPPED.value, now=now)
        logger.warning("notification has no recipients; skipped",
                       extra={"notification_id": notification_id, "kind": kind})
        return "skipped"

    failures: list[str] = []
    busy = False
    for target, message in plan:
        if notes.is_delivered(notification_id, target.recipient, target.slot):
            continue
        if not notes.claim(notification_id, target.recipient, target.slot, ttl=CLAIM_TTL):
            busy = busy or not notes.is_delivered(notification_id, target.recipient,
                                                  target.slot)
            continue
        error = _send(target, message, deps)
        if error:
            notes.release(notification_id, target.recipient, target.slot)
            failures.append(error)
            logger.warning("notification send failed", extra={
                "notification_id": notification_id, "kind": kind,
                "channel": target.channel, "error": error})
            continue
        notes.mark_delivered(notification_id, target.recipient, target.slot)
        if target.recipient == REPORTER:  # a disclosure (DPA 2018 s.62): in the audit
            deps.store.audit.record_disclosure(record.get("case_id", ""), what=kind,
                                               channel=target.slot,
                                               notification_id=notification_id,
                                               now=deps.clock())
        logger.info("notification sent", extra={
            "notification_id": notification_id, "kind": kind, "channel": target.channel})
    if failures:  # a refused destination is reported first, and no retry can help it
        refused = [f for f in failures if f.startswith(PERMANENT)]
        return _failed(record, deps, now, (refused or failures)[0],
                       permanent=len(refused) == len(failures))
    if busy:  # another attempt holds a claim; look again once it must have finished
        notes.reschedule(notification_id, now + CLAIM_TTL, now=now)
        return "in_progress"
    notes.finish(notification_id, Status.SENT.value, now=now)
    return "sent"


def _send(target: Target, message: Message, deps: Deps) -> str:
    """Send on one channel; '' on success, else the error's type name."""
    channel = deps.channels.get(target.channel)
    if channel is None:
        return "ChannelMissing"
    try:
        channel.send(target.address, message)
    except ChannelError as exc:
        return f"{type(exc).__name__}:{exc.cause}"
    except Exception as exc:  # never the message: it may hold an address
        return type(exc).__name__
    return ""


def _failed(record: Mapping[str, str], deps: Deps, now: float, error: str, *,
            permanent: bool = False) -> str:
    """Count the attempt and schedule a retry, or dead-letter after the last one (or at
    once when every failure is `permanent`)."""
    notes = deps.store.notifications
    nid = record["id"]
    attempt = int(record.get("attempts") or 0) + 1
    due = now + backoff(attempt, deps.settings.notify_backoff_seconds, deps.jitter)
    attempts = notes.fail(nid, error, due, now=now)
    if attempts < deps.settings.notify_max_attempts and not permanent:
        logger.info("notification retry scheduled", extra={
            "notification_id": nid, "kind": record.get("kind", ""), "attempts": attempts,
            "retry_in": round(due - now, 1)})
        return "retry"
    alert_id = notes.dead_letter(nid, now)
    logger.error("notification dead-lettered", extra={
        "notification_id": nid, "kind": record.get("kind", ""), "attempts": attempts,
        "alert_id": alert_id or ""})
    if alert_id:  # the fast path; the sweeper is the safety net
        deps.publisher.deliver_notification(alert_id)
    return "dead"


def _staff_plan(record: Mapping[str, str], deps: Deps) -> list[tuple[Target, Message]]:
    notes = deps.store.notifications
    if record.get("recipient_type") == RecipientType.SUPERVISORS.value:
        ids = notes.supervisor_ids()
    else:
        ids = [record.get("recipient", "")] if record.get("recipient") else []
    message = render(record["kind"], record, deps.settings.public_console_url,
                     force=deps.force)
    plan: list[tuple[Target, Message]] = []
    for staff_id in ids:
        staff = notes.staff(staff_id)
        if not staff:
            logger.warning("notification recipient unknown",
                           extra={"notification_id": record["id"], "staff_id": staff_id})
            continue
        plan.extend((target, message) for target in staff_targets(staff_id, staff))
    return plan


def staff_targets(staff_id: str, staff: Mapping[str, str]) -> list[Target]:
    """In-app always, email if set, then each channel URL the staff member registered."""
    targets = [Target(staff_id, "inapp", "inapp", staff_id)]
    if staff.get("email"):
        targets.append(Target(staff_id, "email", "email", staff["email"]))
    try:
        urls = json.loads(staff.get("channels") or "[]")
    except ValueError:
        urls = []
    for url in urls:
        if not isinstance(url, str) or not url:
            continue
        digest = hashlib.sha256(url.encode()).hexdigest()[:12]
        if url.startswith("webhook+"):
            targets.append(Target(staff_id, "webhook", f"webhook-{digest}",
                                  url.removeprefix("webhook+")))
        else:
            targets.append(Target(staff_id, "apprise", f"apprise-{digest}", url))
    return targets


def _reporter_plan(record: Mapping[str, str], deps: Deps,
                   now: float) -> list[tuple[Target, Message]] | str:
    """The acknowledgement the contact profile allows now; or an outcome if none is sent.
    Every "may we" comes from `shared.domain.contact` (channel, safe time, wording, name)."""
    notes = deps.store.notifications
    nid = record["id"]
    case = deps.store.cases.get(record.get("case_id", ""))
    opened = deps.sealer.unseal(case["sealed"]) if case and case.get("sealed") else {}
    profile = contact.profile_for(str(opened.get("kind") or ""),
                                  opened.get("submission") or {})
    route = profile.automatic_route(sms_enabled=bool(deps.settings.sms_url)) \
        if profile else None
    if profile is None or route is None:
        notes.finish(nid, Status.SKIPPED.value, now=now)
        logger.info("reporter acknowledgement skipped", extra={"notification_id": nid})
        return "skipped"
    at = datetime.fromtimestamp(now, UTC)
    when = profile.next_safe(at, ZoneInfo(deps.force.timezone))
    if when is None:
        notes.finish(nid, Status.SKIPPED.value, now=now)
        return "skipped"
    if when > at:
        notes.reschedule(nid, when.timestamp(), now=now)
        logger.info("reporter acknowledgement waits for a safe time",
                    extra={"notification_id": nid})
        return "rescheduled"
    channel, address = route
    discreet = profile.wording is contact.Wording.DISCREET
    message = render(Kind.REPORTER_ACK.value, record, deps.settings.public_console_url,
                     discreet=discreet, name=profile.name, force=deps.force,
                     check_code="" if discreet else _check_code(record, deps))
    return [(_reporter_target(channel, address, deps.settings), message)]


def _check_code(record: Mapping[str, str], deps: Deps) -> str:
    """The check code intake sealed onto a plainly worded acknowledgement, or "" (none, or
    sealed under a key since dropped: the message goes without it)."""
    if not record.get("sealed_code"):
        return ""
    try:
        return str(deps.sealer.unseal(record["sealed_code"]).get("check_code") or "")
    except SealingError:  # an unreadable code must not hold up the message
        logger.warning("check code unreadable", extra={"notification_id": record["id"]})
        return ""


def _reporter_target(channel: str, address: str, settings: Settings) -> Target:
    """Email goes by SMTP; SMS through the Apprise gateway URL with the number filled in."""
    if channel == "sms":
        number = re.sub(r"[^\d+]", "", address)
        return Target(REPORTER, "apprise", "sms", settings.sms_url.replace("{phone}", number))
    return Target(REPORTER, "email", "email", address)

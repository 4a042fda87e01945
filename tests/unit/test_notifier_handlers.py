"""Delivering notifications: each channel once, retries with backoff, dead letters, acks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.notifier.handlers import deliver
from services.notifier.templates import BANNED_WHEN_DISCREET
from shared.bootstrap import Deps, bootstrap
from shared.channels import InAppChannel
from shared.config import Settings
from shared.domain import events
from shared.domain.notifications import Kind, RecipientType
from shared.store import Store
from tests import payloads
from tests.conftest import CANARY
from tests.fakes import FakePublisher
from tests.fakes_notifier import FakeChannel, save_case, save_notification, save_staff
from tests.support.world import Clock

# Monday 23 November 2026, 19:00 in London (GMT): inside the payloads' Mon-Wed 18:00-21:00.
MONDAY_7PM = datetime(2026, 11, 23, 19, 0, tzinfo=UTC).timestamp()
MONDAY_10PM = datetime(2026, 11, 23, 22, 0, tzinfo=UTC).timestamp()
TUESDAY_6PM = datetime(2026, 11, 24, 18, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.for_tests(var_dir=tmp_path, notify_max_attempts=3, notify_backoff_seconds=5,
                              console_url="https://console.example", sms_url="")


@pytest.fixture
def channels() -> dict[str, FakeChannel]:
    return {name: FakeChannel(name) for name in ("inapp", "email", "webhook", "apprise")}


@pytest.fixture
def deps(fake_store: Store, settings: Settings, channels: dict[str, FakeChannel]) -> Deps:
    deps = bootstrap(settings, store=fake_store, publisher=FakePublisher(), channels=channels,
                     clock=Clock(MONDAY_7PM))
    deps.jitter = lambda ceiling: ceiling  # the longest delay, so tests can name it
    return deps


def offer(store: Store, officer: str = "o1") -> str:
    return save_notification(store, Kind.OFFER, recipient_type=RecipientType.OFFICER,
                             recipient=officer, now=MONDAY_7PM)


def ack(deps: Deps, submission: dict, *, kind: str = "report") -> str:
    save_case(deps.store, deps.sealer, submission, kind=kind)
    return save_notification(deps.store, Kind.REPORTER_ACK,
                             recipient_type=RecipientType.REPORTER, now=MONDAY_7PM)


def record(deps: Deps, nid: str) -> dict[str, str]:
    found = deps.store.notifications.get(nid)
    assert found is not None
    return found


def outbox_due(deps: Deps, nid: str) -> float | None:
    return deps.store.redis.zscore(deps.store.keys.notify_outbox, nid)


def sent_count(channels: dict[str, FakeChannel]) -> int:
    return sum(len(c.delivered) for c in channels.values())


# --- staff ------------------------------------------------------------------------------

def test_an_offer_goes_to_the_officer_in_app_by_email_and_on_each_of_their_channels(
        deps: Deps, channels: dict[str, FakeChannel]):
    save_staff(deps.store, "o1", email="o1@force.example",
               channels=["msteams://team/hook", "webhook+https://hooks.example/liaison",
                         "json://relay.example/in"])
    nid = offer(deps.store)

    assert deliver(nid, deps) == "sent"

    assert channels["inapp"].addresses() == ["o1"]
    assert channels["email"].addresses() == ["o1@force.example"]
    assert channels["webhook"].addresses() == ["https://hooks.example/liaison"]
    assert channels["apprise"].addresses() == ["msteams://team/hook", "json://relay.example/in"]
    message = channels["email"].delivered[0][1]
    assert "K7XM-4QPA-R" in message.subject
    assert "https://console.example/cases/case-1" in message.body
    assert "St Albans" in message.body and "High" in message.body
    assert record(deps, nid)["status"] == "sent"
    assert outbox_due(deps, nid) is None


def test_supervisor_notifications_go_to_every_supervisor(
        deps: Deps, channels: dict[str, FakeChannel]):
    save_staff(deps.store, "s1", role="supervisor", email="s1@force.example", supervisor=True)
    save_staff(deps.store, "s2", role="supervisor", supervisor=True)
    nid = save_notification(deps.store, Kind.EMERGENCY, recipient_type=RecipientType.SUPERVISORS,
                            priority=1)

    assert deliver(nid, deps) == "sent"

    assert sorted(channels["inapp"].addresses()) == ["s1", "s2"]
    assert channels["email"].addresses() == ["s1@force.example"]
    assert "Emergency" in channels["inapp"].delivered[0][1].subject


def test_delivering_the_same_notification_twice_sends_it_once(
        deps: Deps, channels: dict[str, FakeChannel]):
    save_staff(deps.store, "o1", email="o1@force.example", channels=["json://relay/in"])
    nid = offer(deps.store)

    assert deliver(nid, deps) == "sent"
    assert deliver(nid, deps) == "noop"

    assert sent_count(channels) == 3


def test_a_send_claimed_by_another_worker_is_left_to_it_and_looked_at_again_later(
        deps: Deps, channels: dict[str, FakeChannel]):
    save_staff(deps.store, "o1", email="o1@force.example")
    nid = offer(deps.store)
    assert deps.store.notifications.claim(nid, "o1", "email")  # another worker is sending

    assert deliver(nid, deps) == "in_progress"

    assert channels["email"].delivered == []
    assert channels["inapp"].addresses() == ["o1"]
    assert record(deps, nid)["status"] == "pending"
    assert outbox_due(deps, nid) == MONDAY_7PM + 120


def test_a_failing_channel_is_retried_with_growing_backoff_and_healthy_ones_are_not_resent(
        deps: Deps, channels: dict[str, FakeChannel]):
    save_staff(deps.store, "o1", email="o1@force.example", channels=["json://relay/in"])
    channels["email"].fail = True
    nid = offer(deps.store)

    assert deliver(nid, deps) == "retry"
    first = outbox_due(deps, nid)
    assert deliver(nid, deps) == "retry"
    second = outbox_due(deps, nid)

    assert first == MONDAY_7PM + 5 and second == MONDAY_7PM + 10
    assert record(deps, nid)["attempts"] == "2"
    assert record(deps, nid)["last_error"] == "ChannelUnavailable:ConnectionRefusedError"
    assert channels["email"].attempts == 2
    assert len(channels["inapp"].delivered) == 1 and len(channels["apprise"].delivered) == 1

    channels["email"].fail = False  # the outage ends
    assert deliver(nid, deps) == "sent"
    assert channels["email"].addresses() == ["o1@force.example"]
    assert len(channels["inapp"].delivered) == 1
    assert outbox_due(deps, nid) is None


def test_backoff_is_capped_at_fifteen_minutes(
        deps: Deps, channels: dict[str, FakeChannel], settings: Settings):
    from dataclasses import replace

    deps.settings = replace(settings, notify_max_attempts=20, notify_backoff_seconds=60)
    save_staff(deps.store, "o1")
    channels["inapp"].fail = True
    nid = offer(deps.store)
    for _ in range(6):
        deliver(nid, deps)
    assert outbox_due(deps, nid) == MONDAY_7PM + 15 * 60


def test_after_the_last_attempt_the_notification_is_dead_lettered_and_supervisors_are_told(
        deps: Deps, channels: dict[str, FakeChannel]):
    save_staff(deps.store, "o1", email="o1@force.example")
    save_staff(deps.store, "s1", role="supervisor", supervisor=True)
    channels["email"].fail = True
    nid = offer(deps.store)

    outcomes = [deliver(nid, deps) for _ in range(3)]

    assert outcomes == ["retry", "retry", "dead"]
    assert record(deps, nid)["status"] == "dead"
    assert outbox_due(deps, nid) is None
    assert deps.store.notifications.dead_letters() == [nid]
    [alert_id] = [i for i in deps.store.redis.zrange(deps.store.keys.notify_outbox, 0, -1)]
    alert = record(deps, alert_id)
    assert alert["kind"] == "dead_letter" and alert["recipient_type"] == "supervisors"
    assert alert["case_id"] == "case-1" and alert["about"] == nid
    assert deps.publisher.sent == [("notifier.deliver", alert_id)]  # type: ignore[union-attr]

    assert deliver(alert_id, deps) == "sent"
    assert channels["inapp"].delivered[-1][0] == "s1"
    assert "could not be delivered" in channels["inapp"].delivered[-1][1].subject


def test_a_dead_letter_notice_that_keeps_failing_dies_without_another_notice(
        deps: Deps, channels: dict[str, FakeChannel]):
    save_staff(deps.store, "s1", role="supervisor", supervisor=True)
    channels["inapp"].fail = True
    nid = save_notification(deps.store, Kind.DEAD_LETTER,
                            recipient_type=RecipientType.SUPERVISORS)

    assert [deliver(nid, deps) for _ in range(3)] == ["retry", "retry", "dead"]

    assert record(deps, nid)["status"] == "dead"
    assert deps.store.redis.zcard(deps.store.keys.notify_outbox) == 0
    assert deps.publisher.sent == []  # type: ignore[union-attr]


def test_every_attempt_is_an_event_without_any_text(
        deps: Deps, channels: dict[str, FakeChannel]):
    save_staff(deps.store, "o1", email="o1@force.example")
    channels["email"].fail = True
    nid = offer(deps.store)
    deliver(nid, deps)
    channels["email"].fail = False
    deliver(nid, deps)

    events = [fields for _, fields in deps.store.redis.xrange(deps.store.keys.events)]
    assert [e["type"] for e in events] == ["NotificationFailed", "NotificationSent"]
    assert all(e["notification_id"] == nid and e["case_id"] == "case-1" for e in events)
    assert "o1@force.example" not in json.dumps(events)
    assert "K7XM" not in json.dumps(events)


def test_the_in_app_channel_fills_the_staff_inbox(deps: Deps, fake_store: Store):
    deps.channels = dict(deps.channels, inapp=InAppChannel(fake_store.notifications))
    save_staff(deps.store, "o1")
    nid = offer(deps.store)

    deliver(nid, deps)

    [message] = fake_store.notifications.inbox("o1")
    assert message["reference"] == "K7XM-4QPA-R"
    assert message["link"] == "https://console.example/cases/case-1"
    assert message["kind"] == "offer"


def test_logs_carry_ids_and_error_types_but_no_addresses(
        deps: Deps, channels: dict[str, FakeChannel],
        captured_logs: pytest.LogCaptureFixture):
    save_staff(deps.store, "o1", email="o1@force.example", channels=["json://secret.example/x"])
    channels["apprise"].fail = True
    nid = offer(deps.store)
    deliver(nid, deps)

    text = " ".join(f"{r.getMessage()} {r.__dict__}" for r in captured_logs.records)
    assert nid in text and "ChannelUnavailable" in text
    assert "o1@force.example" not in text and "secret.example" not in text
    assert "K7XM-4QPA-R" not in text


# --- reporter acknowledgements -------------------------------------------------------------

def test_an_anonymous_report_gets_no_acknowledgement(
        deps: Deps, channels: dict[str, FakeChannel]):
    nid = ack(deps, payloads.report(anonymous=True, consent_to_contact=False, contact=None))
    assert deliver(nid, deps) == "skipped"
    assert sent_count(channels) == 0
    assert record(deps, nid)["status"] == "skipped"
    assert outbox_due(deps, nid) is None


def test_a_report_without_consent_gets_no_acknowledgement(
        deps: Deps, channels: dict[str, FakeChannel]):
    nid = ack(deps, payloads.report(consent_to_contact=False))
    assert deliver(nid, deps) == "skipped"
    assert sent_count(channels) == 0


def test_an_acknowledgement_is_emailed_in_a_safe_time_under_the_chosen_name(
        deps: Deps, channels: dict[str, FakeChannel]):
    nid = ack(deps, payloads.report(contact=payloads.contact(
        name="Robin", channels=["email", "sms"], discreet=False, shared_device=False)))

    assert deliver(nid, deps) == "sent"

    [(address, message)] = channels["email"].delivered
    assert address == "sam@example.org"
    assert "Hello Robin," in message.body and "K7XM-4QPA-R" in message.subject
    assert "Hertfordshire Constabulary LGBT+ liaison" in message.subject
    assert "what happens next" in message.body.lower()
    assert record(deps, nid)["status"] == "sent"


def test_a_sent_acknowledgement_is_an_audited_disclosure_and_a_skipped_one_is_not(
        deps: Deps, channels: dict[str, FakeChannel]):
    sent = ack(deps, payloads.report(contact=payloads.contact(
        name="Robin", channels=["email"], discreet=False, shared_device=False)))
    assert deliver(sent, deps) == "sent"
    skipped = ack(deps, payloads.report(consent_to_contact=False))  # the same case, saved again
    assert deliver(skipped, deps) == "skipped"
    trail = [f for _, f in deps.store.redis.xrange(deps.store.keys.audit)]
    assert [(e["type"], e["notification_id"], e["channel"], e["recipient"], e["by"],
             e["via"]) for e in trail] == [
        (events.DATA_DISCLOSED, sent, "email", "reporter", "system", "notifier")]
    assert trail[0]["case_id"] == record(deps, sent)["case_id"]
    assert "sam@example.org" not in str(trail)   # the channel, never the address


def test_outside_the_safe_times_the_acknowledgement_waits_for_the_next_window(
        deps: Deps, channels: dict[str, FakeChannel]):
    deps.clock = Clock(MONDAY_10PM)
    nid = ack(deps, payloads.report())

    assert deliver(nid, deps) == "rescheduled"

    assert sent_count(channels) == 0
    assert outbox_due(deps, nid) == TUESDAY_6PM
    assert record(deps, nid)["attempts"] == "0"
    assert record(deps, nid)["status"] == "pending"


def test_any_time_means_no_waiting(deps: Deps, channels: dict[str, FakeChannel]):
    deps.clock = Clock(MONDAY_10PM)
    nid = ack(deps, payloads.report(contact=payloads.contact(safe_times=[], any_time=True)))
    assert deliver(nid, deps) == "sent"
    assert len(channels["email"].delivered) == 1


def test_a_discreet_acknowledgement_names_neither_the_police_nor_the_subject(
        deps: Deps, channels: dict[str, FakeChannel]):
    nid = ack(deps, payloads.report(contact=payloads.contact(discreet=True)))

    assert deliver(nid, deps) == "sent"

    [(_, message)] = channels["email"].delivered
    text = f"{message.subject}\n{message.body}".lower()
    for word in ("police", "lgbt", "hate crime", *BANNED_WHEN_DISCREET):
        assert word not in text
    assert message.subject == "Your reference K7XM-4QPA-R"
    assert "Hello Sam," in message.body


def test_a_shared_device_gets_the_discreet_wording_too(
        deps: Deps, channels: dict[str, FakeChannel]):
    nid = ack(deps, payloads.report(contact=payloads.contact(discreet=False,
                                                              shared_device=True)))
    deliver(nid, deps)
    assert "police" not in channels["email"].delivered[0][1].body.lower()


def test_a_phone_only_contact_gets_no_automatic_acknowledgement(
        deps: Deps, channels: dict[str, FakeChannel]):
    nid = ack(deps, payloads.report(contact=payloads.contact(channels=["phone"], email=None)))
    assert deliver(nid, deps) == "skipped"
    assert sent_count(channels) == 0


def test_sms_acknowledgements_need_a_gateway(deps: Deps, channels: dict[str, FakeChannel],
                                             settings: Settings):
    from dataclasses import replace

    only_sms = payloads.contact(channels=["sms"], email=None, discreet=True)
    nid = ack(deps, payloads.report(contact=only_sms))
    assert deliver(nid, deps) == "skipped"  # no LIAISON_SMS_URL configured

    deps.settings = replace(settings, sms_url="sms-gw://user:pw@gw.example/{phone}")
    nid = ack(deps, payloads.report(contact=only_sms))
    assert deliver(nid, deps) == "sent"
    [(address, message)] = channels["apprise"].delivered
    assert address == "sms-gw://user:pw@gw.example/07700900123"
    assert "police" not in message.body.lower()


def test_a_callback_request_counts_as_consent(deps: Deps, channels: dict[str, FakeChannel]):
    callback = payloads.callback(contact=payloads.contact(channels=["email"]))
    nid = ack(deps, callback, kind="callback")
    assert deliver(nid, deps) == "sent"
    assert channels["email"].addresses() == ["sam@example.org"]


def test_no_acknowledgement_carries_the_account(deps: Deps, channels: dict[str, FakeChannel]):
    nid = ack(deps, payloads.report(what_happened=f"{CANARY} said things",
                                    contact=payloads.contact(pronouns=CANARY)))
    deliver(nid, deps)
    [(_, message)] = channels["email"].delivered
    assert CANARY not in message.subject + message.body

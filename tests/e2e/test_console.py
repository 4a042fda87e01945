"""The staff console in headless Chromium against the whole stack as processes: intake and
console under gunicorn, router, notifier and beat as Celery workers, a real Redis."""

from __future__ import annotations

import re
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import cast

import pytest
import requests

from shared.config import Settings
from shared.domain.officers import Availability, Officer, Role
from shared.domain.rota import always_on
from shared.passwords import hash_password
from shared.store import Store, redis_client
from tests import payloads
from tests.e2e.axe import overflows
from tests.support.processes import run_web
from tests.support.stack import CeleryProcess, MailSink, stack_env, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
DOCS = Path(__file__).resolve().parents[2] / "docs"
PASSWORD = "correct horse battery staple 7"


class Console:
    """The running stack and a store to arrange and inspect it."""

    def __init__(self, redis_url: str, tmp_path: Path) -> None:
        self.mail = MailSink().start()
        self.env = stack_env(redis_url, tmp_path, LIAISON_SMTP_URL=self.mail.url,
                             LIAISON_OFFER_TIMEOUTS="1=600,2=600,3=600,4=600")
        self.settings = Settings.from_env(self.env)
        self.store = Store(redis_client(redis_url))
        self.workers: list[CeleryProcess] = []
        self._webs: list[Iterator[str]] = []
        try:  # a part that fails to start must not leave the others running
            for worker in (
                    CeleryProcess.worker("services.router.celery_app", "route,sweep",
                                         self.env, tmp_path, name="router"),
                    CeleryProcess.worker("services.notifier.celery_app", "notify", self.env,
                                         tmp_path, name="notifier"),
                    CeleryProcess.beat("services.router.celery_app", self.env, tmp_path)):
                self.workers.append(worker.start())
            self._webs.append(run_web("services.intake.app:create_app()", self.env, tmp_path))
            self.intake_url = next(self._webs[-1])
            self._webs.append(run_web("services.console.app:create_app()", self.env, tmp_path,
                                      workers=1, threads=8))
            self.console_url = next(self._webs[-1])
        except BaseException:
            self.close()
            raise

    def staff(self, staff_id: str, username: str, role: Role, district: str = "watford",
              status: Availability = Availability.AVAILABLE) -> None:
        officer = Officer(id=staff_id, name=staff_id.replace("-", " ").title(),
                          districts=(district,), role=role, rota=always_on(), status=status,
                          capacity=3, email=f"{username}@liaison.test")
        self.store.officers.save(officer, on_shift=True, next_change=None)
        self.store.accounts.create(staff_id, username, hash_password(PASSWORD))

    def report(self, **overrides: object) -> str:
        resp = requests.post(f"{self.intake_url}/api/v1/reports",
                             json=payloads.report(**overrides), timeout=10)
        assert resp.status_code == 201, resp.text
        return str(resp.json()["reference"])

    def case_id(self, reference: str) -> str:
        return self.store.cases.id_for_reference(reference) or ""

    def close(self) -> None:
        for web in reversed(self._webs):
            cast(Generator[str, None, None], web).close()
        for worker in reversed(self.workers):
            worker.stop()
        self.mail.stop()


@pytest.fixture
def console(redis_url: str, tmp_path: Path) -> Iterator[Console]:
    stack = Console(redis_url, tmp_path)
    yield stack
    stack.close()


def sign_in(page, console: Console, username: str) -> None:
    page.goto(f"{console.console_url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_an_officer_sees_a_new_offer_appear_accepts_contacts_and_closes(page, console):
    console.staff("robin-hale", "robin", Role.OFFICER, "watford")
    sign_in(page, console, "robin")
    assert page.get_by_role("heading", name=re.compile("Offers for you")).is_visible()
    assert "No offers for you right now" in page.content()

    reference = console.report(what_happened="They followed me home shouting slurs. "
                                              "The account stays exactly as written.")
    offer_row = page.locator(f"tr.offer[data-reference='{reference}']")
    offer_row.wait_for(timeout=30_000)  # appears without a reload (the inbox polls)
    assert offer_row.locator(".countdown").inner_text().strip()
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "officer-inbox.png"), full_page=True)

    offer_row.get_by_role("button", name=re.compile("Accept")).click()
    page.wait_for_load_state()  # accepting opens the case, safety profile first
    safety = page.locator("#safety")
    assert safety.is_visible()
    html = page.content()
    assert html.index('id="safety"') < html.index("The account stays exactly as written.")
    assert "Sam" in safety.inner_text()  # the name they chose
    page.screenshot(path=str(DOCS / "case-page.png"), full_page=True)

    page.locator("#contact-channel").select_option("phone")
    page.locator("#contact-outcome").select_option("spoke")
    page.get_by_role("button", name="Record contact").click()
    page.wait_for_load_state()
    case_id = console.case_id(reference)
    assert console.store.cases.get(case_id)["state"] == "contacted"
    page.locator("#close-outcome").select_option("advice_given")
    page.get_by_role("button", name="Close case").click()
    page.wait_for_load_state()
    assert console.store.cases.get(case_id)["state"] == "closed"
    views = console.store.redis.xrange(console.store.keys.audit)
    assert any(f.get("case_id") == case_id and f.get("by") == "robin-hale" for _, f in views)


def test_a_supervisor_watches_the_queue_change_live_and_reassigns(browser, console):
    console.staff("sarah-whitfield", "sarah", Role.SUPERVISOR)
    console.staff("late-officer", "late", Role.OFFICER, "dacorum", status=Availability.OFF_DUTY)
    console.staff("cover-officer", "cover", Role.OFFICER, "broxbourne",
                  status=Availability.OFF_DUTY)
    supervisor = browser.new_context().new_page()
    public = browser.new_context().new_page()
    try:
        sign_in(supervisor, console, "sarah")
        supervisor.locator("[data-live-status][data-state='live']").wait_for(timeout=15_000)
        waiting = supervisor.locator("#waiting [data-metric='force.waiting_total']")
        before = int(waiting.inner_text() or 0)

        # A member of the public reports through the public form; nobody is available.
        # (the stepped form: what happened → when and where → why → about you → check)
        public.goto(f"{console.intake_url}/report")
        public.get_by_label("What happened?").fill("Spat at and called names in town.")
        public.get_by_role("button", name="Continue").click()
        public.get_by_label("Day").fill("21")
        public.get_by_label("Month").fill("11")
        public.get_by_label("Year").fill("2026")
        public.get_by_label("Postcode").fill("HP1 1AA")
        public.get_by_role("button", name="Continue").click()
        public.get_by_label("Race").check()
        public.get_by_role("button", name="Continue").click()
        public.get_by_label("It happened to me").check()
        public.locator("#anonymous-yes").check()
        public.get_by_role("button", name="Continue").click()
        public.get_by_role("button", name="Send report").click()
        reference = public.locator("#reference").inner_text()

        wait_for(lambda: int(waiting.inner_text() or 0) == before + 1, timeout=20,
                 what="the waiting count to rise on the dashboard without a reload")
        supervisor.screenshot(path=str(DOCS / "supervisor-dashboard.png"), full_page=True)
        assert supervisor.locator(f"#waiting a:text-is('{reference}')").is_visible()

        # The officer comes on duty: the offer shows up live too.
        from shared import casework
        from shared.bootstrap import bootstrap

        deps = bootstrap(console.settings, name="e2e", store=console.store)
        casework.set_availability(deps, "late-officer", Availability.AVAILABLE)
        wait_for(lambda: int(waiting.inner_text() or 0) == before, timeout=20,
                 what="the waiting count to fall live when the offer is made")
        case_id = console.case_id(reference)
        assert console.store.cases.get(case_id)["officer"] == "late-officer"

        # Reassign it to another officer from the supervisor's case view.
        console.store.officers.set_status("cover-officer", Availability.AVAILABLE)
        supervisor.goto(f"{console.console_url}/cases/{case_id}/view")
        supervisor.get_by_label("Deciding who should take the case").check()  # why (s.62)
        supervisor.get_by_role("button", name="Open the case").click()
        supervisor.wait_for_load_state()
        supervisor.locator("#pick-cover-officer").check()  # on shift, available: no reason
        supervisor.get_by_role("button", name=re.compile("Reassign")).click()
        supervisor.wait_for_load_state()
        assert console.store.cases.get(case_id)["officer"] == "cover-officer"
        log = console.store.cases.log(case_id)
        assert any(e["type"] == "CaseReassigned" and e["by"] == "sarah-whitfield" for e in log)
    finally:
        supervisor.context.close()
        public.context.close()


PHONE = {"width": 390, "height": 844}


def test_an_officer_on_a_phone_gets_a_new_offer_within_two_seconds(browser, console):
    """The inbox listens on /inbox/stream: an offer made shows within 2 s, Accept on screen."""
    console.staff("robin-hale", "robin", Role.OFFICER, "watford")
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        with page.expect_response(lambda r: "/inbox/stream" in r.url, timeout=15_000):
            sign_in(page, console, "robin")
        reference = console.report(what_happened="Shouted at on the bus.")
        case_id = wait_for(lambda: console.case_id(reference), timeout=20,
                           what="the case to be stored")
        wait_for(lambda: console.store.cases.get(case_id).get("state") == "offered",
                 timeout=20, interval=0.05, what="the case to be offered to robin")
        offered = time.monotonic()
        row = page.locator(f"tr.offer[data-reference='{reference}']")
        row.wait_for(state="visible", timeout=2_000)
        assert time.monotonic() - offered <= 2.0
        accept = row.get_by_role("button", name=re.compile("Accept"))
        assert accept.is_visible()
        box = accept.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert not overflows(page), "the inbox scrolls sideways at 390 px"
        page.screenshot(path=str(DOCS / "officer-inbox-390.png"), full_page=True)
    finally:
        context.close()


def test_a_supervisor_follows_an_emergency_alert_to_the_case(browser, console):
    """The alert's link goes to /cases/<id>: a supervisor is sent on to the case view, which
    asks why first (DPA 2018 s.62), then shows the case."""
    console.staff("sarah-whitfield", "sarah", Role.SUPERVISOR)
    page = browser.new_context().new_page()
    try:
        sign_in(page, console, "sarah")
        reference = console.report(in_danger=True)
        alert = page.locator(f"#alerts tr.row--emergency:has(a:text-is('{reference}'))")
        alert.first.wait_for(timeout=20_000)  # live, without a reload
        case_id = console.case_id(reference)
        page.goto(f"{console.console_url}/cases/{case_id}")        # the notification's link
        page.wait_for_load_state()
        assert page.url.endswith(f"/cases/{case_id}/view")
        page.go_back()
        page.wait_for_load_state()
        page.locator(f"#alerts a:text-is('{reference}')").first.click()  # the dashboard's link
        page.wait_for_load_state()
        assert page.url.endswith(f"/cases/{case_id}/view")
        assert page.get_by_role("button", name="Open the case").is_visible()
        page.get_by_label("Deciding who should take the case").check()
        page.get_by_role("button", name="Open the case").click()
        page.wait_for_load_state()
        assert reference in page.content()
        assert any(f.get("case_id") == case_id and f.get("by") == "sarah-whitfield"
                   and f.get("purpose") for _, f in
                   console.store.redis.xrange(console.store.keys.audit))
    finally:
        page.context.close()

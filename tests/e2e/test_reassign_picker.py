"""The reassign picker (issue 12) in headless Chromium against the console under gunicorn and
a real Redis: a supervisor finds a waiting case on the dashboard, picks an officer who is off
shift, is refused with the officer and the problem named, gives a reason and succeeds.

Only the console runs (no router or notifier): the case is stored and routed with the
store's own script, as the router would, and nothing here needs a message delivered."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.config import Settings
from shared.domain.officers import Availability, Officer, Role
from shared.domain.rota import always_on
from shared.passwords import hash_password
from shared.store import Store, redis_client
from tests.e2e.axe import AXE_JS, overflows, violations
from tests.e2e.test_console import PASSWORD, sign_in
from tests.support.cases import routed_case
from tests.support.processes import run_web
from tests.support.stack import stack_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


class ConsoleOnly:
    """The console as a process, and a store to arrange and inspect it."""

    def __init__(self, redis_url: str, tmp_path: Path) -> None:
        self.env = stack_env(redis_url, tmp_path)
        self.settings = Settings.from_env(self.env)
        self.store = Store(redis_client(redis_url))
        self._console = run_web("services.console.app:create_app()", self.env, tmp_path,
                                workers=1, threads=4)
        self.console_url = next(self._console)

    def staff(self, staff_id: str, name: str, role: Role, *, on_shift: bool = True,
              status: Availability = Availability.AVAILABLE, username: str = "") -> None:
        officer = Officer(id=staff_id, name=name, districts=("watford",), role=role,
                          rota=always_on(), status=status, capacity=3)
        self.store.officers.save(officer, on_shift=on_shift, next_change=None)
        if username:
            self.store.accounts.create(staff_id, username, hash_password(PASSWORD))

    def close(self) -> None:
        self._console.close()


@pytest.fixture
def console(redis_url: str, tmp_path: Path) -> Iterator[ConsoleOnly]:
    stack = ConsoleOnly(redis_url, tmp_path)
    yield stack
    stack.close()


def no_axe_violations(page: Any) -> None:
    if AXE_JS.exists():  # tests/e2e/test_console_a11y.py says loudly when it is missing
        assert violations(page, AXE_JS) == []


def test_a_supervisor_overrides_the_picker_for_an_off_shift_officer_with_a_reason(
        browser, console):
    console.staff("sarah-whitfield", "Sarah Whitfield", Role.SUPERVISOR, username="sarah")
    console.staff("sam-patel", "Sam Patel", Role.OFFICER, on_shift=False)  # off shift
    console.staff("ola-bright", "Ola Bright", Role.OFFICER, status=Availability.AWAY)
    case_id, routed = routed_case(console.store, console.settings, "watford")
    assert routed.outcome == "waiting"  # nobody on shift and available
    reference = console.store.cases.get(case_id)["reference"]

    context = browser.new_context(bypass_csp=True)  # axe goes in inline
    page = context.new_page()
    try:
        sign_in(page, console, "sarah")
        waiting = page.locator(f"#waiting a:text-is('{reference}')")
        assert waiting.is_visible()                          # the waiting list
        waiting.click()
        page.wait_for_load_state()
        page.get_by_label("Deciding who should take the case").check()  # why (s.62)
        page.get_by_role("button", name="Open the case").click()
        page.wait_for_load_state()

        sam = page.locator(".pick", has=page.locator("#pick-sam-patel"))
        assert "off shift" in sam.locator("label").inner_text()
        assert re.search(r"Off shift · Available · 0 of 3 cases", sam.inner_text())
        page.locator("#pick-sam-patel").check()
        page.get_by_role("button", name="Reassign").click()
        page.wait_for_load_state()

        summary = page.locator(".error-summary")
        assert summary.is_visible()
        message = ("Sam Patel is off shift. Give a reason to assign them anyway, or choose "
                   "someone else.")
        assert message in summary.inner_text()
        assert page.title().startswith("Error: ")
        assert page.locator("#pick-sam-patel").is_checked()   # the choice is kept
        assert console.store.cases.get(case_id)["state"] == "waiting"
        no_axe_violations(page)
        assert not overflows(page)

        summary.get_by_role("link").click()                   # to the field to fix
        page.get_by_label(re.compile("Reason, if you choose someone marked")).fill(
            "Sam is on call tonight and has agreed to take it.")
        page.get_by_role("button", name="Reassign").click()
        page.wait_for_load_state()

        assert "as an override (off shift)" in page.locator(".flash").inner_text()
        case = console.store.cases.get(case_id)
        assert (case["state"], case["officer"]) == ("offered", "sam-patel")
        [moved] = [e for e in console.store.cases.log(case_id) if e["type"] == "CaseReassigned"]
        assert (moved["by"], moved["overridden"]) == ("sarah-whitfield", "off_shift")
        audit = [f for _, f in console.store.redis.xrange(console.store.keys.audit)
                 if f["type"] == "CaseActionTaken"]
        [note] = console.store.notes.list(case_id)              # the reason, sealed
        assert (audit[-1]["overridden"], audit[-1]["override_note"], note["kind"]) == (
            "off_shift", note["id"], "override")
        assert "Sam is on call tonight" in page.locator("#notes").inner_text()
    finally:
        context.close()

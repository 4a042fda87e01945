"""Every console page under axe-core (WCAG 2.0/2.1/2.2 A and AA: no violation of any impact)
and without sideways scrolling, on a 390 px phone and a 1280 px desktop — with folded parts
(<details>) opened too. One stack for the module; the docs/ screenshots come from here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from shared.domain.officers import Role
from tests.e2e.axe import axe_or_skip, overflows, violations
from tests.e2e.test_console import DOCS, Console, sign_in
from tests.support.stack import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
VIEWPORTS = {"390": {"width": 390, "height": 844}, "1280": {"width": 1280, "height": 900}}
# page name -> (who signs in, path with {case} for the case id)
PAGES = {
    "login": ("", "/login"),
    "inbox": ("robin", "/inbox"),
    "officer case": ("robin", "/cases/{case}"),
    "dashboard": ("sarah", "/dashboard"),
    "reason": ("sarah", "/cases/{case}/view"),
    "case view": ("sarah", "/cases/{case}/view?purpose=supervision"),
    "find case": ("sarah", "/cases/find?reference=ZZZZ-ZZZZ-Z"),
    "officers": ("ada", "/admin/officers"),
    "officer editor": ("ada", "/admin/officers/robin-hale"),
    "accounts": ("ada", "/admin/accounts"),
    "audit": ("ada", "/admin/audit"),
    "call start": ("cara", "/call/"),
    "call callback": ("cara", "/call/callback"),
    "call report": ("cara", "/call/report"),
}
SCREENSHOTS = {("inbox", "390"): "officer-inbox-390.png",
               ("dashboard", "390"): "supervisor-dashboard-390.png",
               ("dashboard", "1280"): "supervisor-dashboard-1280.png",
               ("officer editor", "390"): "admin-officer-editor-390.png",
               ("officer editor", "1280"): "admin-officer-editor-1280.png"}


@pytest.fixture(scope="module")
def stack(redis_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The stack with an officer holding an offer, a supervisor, an admin, and a case waiting
    (an emergency, with its alert) so the dashboard's lists are not empty."""
    axe_or_skip()
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    console = Console(redis_server.url, Path(tmp_path_factory.mktemp("a11y")))
    console.staff("robin-hale", "robin", Role.OFFICER, "watford")
    console.staff("sarah-whitfield", "sarah", Role.SUPERVISOR)
    console.staff("ada-admin", "ada", Role.ADMIN)
    console.staff("cara-call", "cara", Role.CALL_HANDLER)
    reference = console.report()
    case_id = wait_for(lambda: console.case_id(reference), what="the case to be stored")
    wait_for(lambda: console.store.cases.get(case_id).get("state") == "offered",
             what="the case to be offered to robin")
    waiting = console.report(in_danger=True, home_area={"district": "dacorum"},
                             incident_location={"postcode": "HP1 1AA"})
    wait_for(lambda: console.case_id(waiting), what="the emergency to be stored")
    try:
        yield console, case_id
    finally:
        console.close()

# What sticks out past the right edge (not counting what scrolls inside a scroll container).
TOO_WIDE = """() => [...document.querySelectorAll('body *')]
  .filter(e => !(e.parentElement && e.parentElement.closest('.table-scroll'))
               && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id)"""


def open_folds(page: Any) -> None:
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")


@pytest.mark.parametrize("width", VIEWPORTS)
@pytest.mark.parametrize("name", PAGES)
def test_every_console_page_passes_axe_and_fits_the_screen(browser, stack, name, width):
    console, case_id = stack
    who, path = PAGES[name]
    context = browser.new_context(viewport=VIEWPORTS[width], bypass_csp=True)
    page = context.new_page()
    try:
        if who:
            sign_in(page, console, who)
        page.goto(console.console_url + path.format(case=case_id))
        page.wait_for_load_state("networkidle" if name != "dashboard" and name != "inbox"
                                 else "load")
        found = violations(page, axe_or_skip())
        wide = overflows(page)
        if (name, width) in SCREENSHOTS:  # as it first shows
            DOCS.mkdir(exist_ok=True)
            page.screenshot(path=str(DOCS / SCREENSHOTS[(name, width)]), full_page=True)
        open_folds(page)
        found_open = violations(page, axe_or_skip())
        wide_open = overflows(page)
        print(f"AXE {name} @{width}: {len(found)} violations, {len(found_open)} with folds "
              f"open; overflow {wide}/{wide_open}")
        assert found == [] and found_open == [], found or found_open
        if width == "390" and (wide or wide_open):
            print("TOO WIDE:", page.evaluate(TOO_WIDE))
        if width == "390":
            assert not wide and not wide_open, f"{name} scrolls sideways at 390 px"
    finally:
        context.close()


def check_axe(page: Any, name: str, width: str) -> None:
    found = violations(page, axe_or_skip())
    wide = overflows(page)
    print(f"AXE {name} @{width}: {len(found)} violations; overflow {wide}")
    assert found == [], found
    if width == "390":
        assert not wide, f"{name} scrolls sideways at 390 px: {page.evaluate(TOO_WIDE)}"


@pytest.mark.parametrize("width", VIEWPORTS)
def test_a_call_with_errors_and_its_read_back_page_pass_axe(browser, stack, width):
    """The 101 callback page as a handler sees it after a bad send (the error summary), and
    the reference and check code shown to read back after a good one."""
    console, _ = stack
    context = browser.new_context(viewport=VIEWPORTS[width], bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, console, "cara")
        page.goto(console.console_url + "/call/callback")
        page.get_by_role("button", name="Record the callback request").click()
        page.wait_for_load_state()
        assert page.locator(".error-summary").is_visible()
        check_axe(page, "call errors", width)
        page.locator("#danger-no").check()
        page.locator("#contact-name").fill("Jo")
        page.locator("#contact-channels-phone").check()
        page.locator("#contact-phone").fill("07700 900456")
        page.locator("#contact-safe-times-any-time").check()
        for question in ("contact-voicemail-ok", "contact-shared-device", "contact-say-police"):
            page.locator(f"#{question}-no").check()
        page.locator("#home-area-district").select_option("watford")
        page.get_by_role("button", name="Record the callback request").click()
        page.wait_for_load_state()
        assert page.locator("#reference").is_visible() and page.locator("#check-code").is_visible()
        if width == "390":
            DOCS.mkdir(exist_ok=True)
            page.screenshot(path=str(DOCS / "call-handler-read-back-390.png"), full_page=True)
        check_axe(page, "call read back", width)
    finally:
        context.close()

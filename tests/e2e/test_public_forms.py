"""A person using the public pages in headless Chromium, against gunicorn and real Redis:
the stepped report and the stepped callback request with and without JavaScript, Exit this
page, and axe-core over every public page at a phone's width (390 px) and a desktop's
(1280 px)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.e2e.axe import axe_or_skip, overflows, violations
from tests.forms import callback_form, callback_steps, hidden_fields, report_form, report_steps
from tests.support.processes import run_intake

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
DOCS = Path(__file__).resolve().parents[2] / "docs"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
NEUTRAL = "https://www.bbc.co.uk/**"


@pytest.fixture(scope="module")
def intake(redis_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One intake for the module (its tests share a Redis and never count its keys)."""
    yield from run_intake(redis_server.url, tmp_path_factory.mktemp("intake"),
                          "1000 per minute")


@pytest.fixture
def store(redis_server: Any) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    client.close()


def fill_contact(page, *, discreet: bool) -> None:
    """The contact-safety questions, as both forms ask them, then Continue."""
    page.get_by_label("What name should we use for you?").fill("Robin")
    page.get_by_label("Text message").check()
    page.get_by_label("Phone number").fill("07700 900789")
    page.get_by_label("Weekday evenings 5pm to 9pm").check()
    page.locator("#contact-voicemail-ok-no").check()
    page.locator("#contact-shared-device-yes").check()
    page.locator("#contact-discreet-yes" if discreet else "#contact-discreet-no").check()
    page.get_by_role("button", name="Continue").click()


def fill_steps(page, *, anonymous: bool = False, danger: bool = False) -> None:
    """Answer each step as a person would, from the first page to check your answers."""
    assert page.locator("#progress").inner_text() == "Step 1 of 6"
    if danger:
        page.get_by_label("I am, or someone is, in danger now").check()
    page.get_by_label("What happened?").fill(
        "A group followed me from the station shouting homophobic abuse.")
    page.get_by_label("Someone was threatened with violence").check()
    page.get_by_role("button", name="Continue").click()
    if danger:
        assert page.get_by_role("heading", name="Call 999 now").is_visible()
        page.get_by_role("link", name="Continue with the report").click()
    assert page.locator("#progress").inner_text() == "Step 2 of 6"
    page.get_by_label("Day").fill("21")
    page.get_by_label("Month").fill("11")
    page.get_by_label("Year").fill("2026")
    page.get_by_label("Postcode").fill("SG1 1XY")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Sexual orientation").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("It happened to me").check()
    page.locator("#anonymous-yes" if anonymous else "#anonymous-no").check()
    page.get_by_role("button", name="Continue").click()
    if not anonymous:
        page.locator("#consent-to-contact-yes").check()
        fill_contact(page, discreet=False)
    assert page.get_by_role("heading", name="Check your answers before sending").is_visible()


def assert_stored(page, store: redis.Redis) -> str:
    reference = page.locator("#reference").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]", reference)
    case_id = store.get(f"liaison:ref:{reference}")
    assert store.hget(f"liaison:case:{case_id}", "district") == "stevenage"
    return reference


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_person_reports_step_by_step_and_sees_their_reference(browser, intake, store,
                                                                javascript):
    context = browser.new_context(java_script_enabled=javascript, viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(f"{intake}/")
        page.get_by_role("link", name="Report a hate crime or incident").click()
        fill_steps(page)
        page.get_by_role("button", name="Send report").click()
        assert_stored(page, store)
        assert page.get_by_role("heading", name="Where to get support").is_visible()
        assert not store.keys("liaison:draft:*") or all(
            "Robin" not in (store.get(k) or "") for k in store.keys("liaison:draft:*"))
    finally:
        context.close()


def fill_callback(page, *, danger: bool = False) -> None:
    """Answer each step of the callback request, from safety to check your answers."""
    assert page.locator("#progress").inner_text() == "Step 1 of 4"
    page.locator("#in-danger-yes" if danger else "#in-danger-no").check()
    page.get_by_role("button", name="Continue").click()
    if danger:
        assert page.get_by_role("heading", name="Call 999 now").is_visible()
        page.get_by_role("link", name="Continue with the request").click()
    assert page.locator("#progress").inner_text() == "Step 2 of 4"
    page.get_by_label("Your postcode").fill("SG1 1XY")
    page.get_by_label("What would you like to talk about?").fill("Advice about messages.")
    page.get_by_role("button", name="Continue").click()
    assert page.locator("#progress").inner_text() == "Step 3 of 4"
    page.get_by_role("button", name="Continue").click()  # empty: every error at once
    assert page.get_by_role("heading", name="There is a problem").is_visible()
    assert page.locator(".error-summary__list li").count() == 5
    fill_contact(page, discreet=True)
    assert page.get_by_role("heading", name="Check your answers before sending").is_visible()
    assert page.locator("#progress").inner_text() == "Step 4 of 4"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_person_asks_for_a_callback_step_by_step(browser, intake, store, javascript):
    context = browser.new_context(java_script_enabled=javascript, viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(f"{intake}/")
        page.get_by_role("link", name="Ask a liaison officer to contact me").click()
        fill_callback(page)
        page.locator(".back-link").click()  # Back: the answers are kept
        assert page.get_by_label("What name should we use for you?").input_value() == "Robin"
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Send request").click()
        reference = assert_stored(page, store)
        case_id = store.get(f"liaison:ref:{reference}")
        assert store.hget(f"liaison:case:{case_id}", "kind") == "callback"
        assert page.get_by_role("heading", name="Request sent").is_visible()
        assert page.get_by_role("heading", name="Other people you can talk to").is_visible()
        assert "Robin" not in page.url and "?" not in page.url
    finally:
        context.close()


def test_a_callback_from_someone_in_danger_says_call_999_first(browser, intake, store):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(f"{intake}/callback")
        fill_callback(page, danger=True)
        page.get_by_role("button", name="Send request").click()
        assert_stored(page, store)
        assert "Call 999 now" in page.locator("main > *").first.inner_text()
    finally:
        context.close()


def test_an_emergency_report_puts_call_999_first(browser, intake, store):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(f"{intake}/report")
        fill_steps(page, danger=True, anonymous=True)
        page.get_by_role("button", name="Send report").click()
        assert_stored(page, store)
        first = page.locator("main > *").first
        assert "Call 999 now" in first.inner_text()
        box = page.get_by_role("heading", name="Call 999 now").bounding_box()
        assert box and box["y"] + box["height"] < PHONE["height"] / 2
    finally:
        context.close()


def test_errors_link_to_the_first_input_of_each_question(page, intake):
    page.goto(f"{intake}/report/what-happened")
    page.get_by_label("What happened?").fill("Someone spat at me in the park.")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Continue").click()  # "when and where" left empty
    assert page.get_by_role("heading", name="There is a problem").is_visible()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    page.goto(f"{intake}/report/why")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("link", name=re.compile("Select at least one reason")).click()
    assert page.evaluate("document.activeElement.id") == "hate-strands-sexual-orientation"
    # the question stays in view below the sticky exit bar
    bar = page.locator(".quick-exit").bounding_box()
    legend = page.get_by_role("heading", name="Why do you think it happened?").bounding_box()
    assert bar and legend and legend["y"] >= bar["y"] + bar["height"] - 1
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "intake-errors.png"), full_page=True)


def test_shift_three_times_leaves_and_back_does_not_return(page, intake, store):
    neutral = []
    page.route(NEUTRAL, lambda route: (neutral.append(route.request.url),
                                       route.fulfill(body="weather")))
    page.goto(f"{intake}/")
    page.goto(f"{intake}/report/what-happened")
    page.get_by_label("What happened?").fill("Something private that happened")
    others = set(store.keys("liaison:draft:*"))  # other tests' drafts share this Redis
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r".*/report/when-and-where"))
    drafts_before = set(store.keys("liaison:draft:*")) - others
    assert len(drafts_before) == 1
    page.get_by_label("Or describe when").focus()
    for _ in range(3):
        page.keyboard.press("Shift")
    page.wait_for_url(NEUTRAL)
    assert neutral, "the exit did not go to the neutral site"
    page.go_back()  # the page that was showing is gone from history; an earlier step's
    # address may remain, but its answers are forgotten (the draft is cleared, pages no-store)
    assert "/report/when-and-where" not in page.url
    assert "Something private" not in page.content()
    for _ in range(20):  # the beacon forgets the draft on the server
        if not set(drafts_before) & set(store.keys("liaison:draft:*")):
            break
        page.wait_for_timeout(100)
    assert not set(drafts_before) & set(store.keys("liaison:draft:*"))


def test_escape_while_typing_does_not_leave(page, intake):
    page.goto(f"{intake}/report/what-happened")
    box = page.get_by_label("What happened?")
    box.fill("Typing")
    box.press("Escape")
    page.keyboard.type(" and SHIFTED capitals ABC")  # shifts broken by other keys
    page.wait_for_timeout(300)
    assert page.url.endswith("/report/what-happened")
    assert box.input_value().startswith("Typing and SHIFTED")


def test_the_exit_button_leaves_too(page, intake):
    page.route(NEUTRAL, lambda route: route.fulfill(body="weather"))
    page.goto(f"{intake}/callback")
    page.get_by_role("link", name="Exit this page").click()
    page.wait_for_url(NEUTRAL)


def test_checkboxes_stay_beside_their_labels_on_a_phone(browser, intake):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(f"{intake}/report/what-happened")
        page.get_by_label("What happened?").fill("Someone spat at me in the park.")
        page.get_by_role("button", name="Continue").click()
        page.goto(f"{intake}/report/when-and-where")
        for box in page.locator(".checkbox").all():
            tick = box.locator("input").bounding_box()
            label = box.locator("label").bounding_box()
            assert tick and label and abs(label["y"] - tick["y"]) < 12, box.inner_text()
    finally:
        context.close()


# --- every public page under axe, at a phone's width and a desktop's -------------------------

def _walk_every_page(browser, intake: str, viewport: dict[str, int], axe_js: Path,
                     screenshots: bool) -> dict[str, tuple[list[dict[str, Any]], bool]]:
    """Visit every public page (and its error state) and run axe on each."""
    results: dict[str, tuple[list[dict[str, Any]], bool]] = {}
    context = browser.new_context(viewport=viewport, bypass_csp=True)
    page = context.new_page()
    width = viewport["width"]

    def audit(name: str) -> None:
        results[name] = (violations(page, axe_js), overflows(page))

    def shot(name: str) -> None:
        if screenshots:
            page.screenshot(path=str(DOCS / f"intake-{name}-{width}.png"), full_page=True)
            if name == "confirmation" and width == DESKTOP["width"]:  # the older name too
                page.screenshot(path=str(DOCS / "intake-confirmation.png"), full_page=True)

    try:
        DOCS.mkdir(exist_ok=True)
        page.goto(f"{intake}/")
        audit("start")
        shot("start")
        page.goto(f"{intake}/report/what-happened")
        page.get_by_role("button", name="Continue").click()
        audit("what-happened (errors)")
        fields = report_form(in_danger="on")
        token = hidden_fields(page.content())["csrf_token"]
        for slug, share in report_steps(fields):
            page.goto(f"{intake}/report/{slug}")
            audit(slug)
            if slug == "when-and-where":
                shot("step")
            response = page.request.post(f"{intake}/report/{slug}", max_redirects=0,
                                         form={"csrf_token": token, **_flat(share)})
            assert response.status == 303, (slug, response.text()[:500])
            if slug == "what-happened":
                page.goto(f"{intake}/report/call-999")
                audit("call-999")
        page.goto(f"{intake}/report/check-your-answers")
        audit("check-your-answers")
        page.get_by_role("button", name="Send report").click()
        audit("confirmation (emergency)")
        page.goto(f"{intake}/report")  # a new draft: a plain report this time
        token = hidden_fields(page.content())["csrf_token"]
        for slug, share in report_steps(report_form()):
            page.request.post(f"{intake}/report/{slug}", max_redirects=0,
                              form={"csrf_token": token, **_flat(share)})
        page.goto(f"{intake}/report/check-your-answers")
        page.get_by_role("button", name="Send report").click()
        audit("confirmation")
        shot("confirmation")
        page.goto(f"{intake}/callback")  # a new draft: the callback request, step by step
        for slug, share in callback_steps(callback_form(in_danger="yes")):
            page.goto(f"{intake}/callback/{slug}")
            audit(f"callback {slug}")
            page.get_by_role("button", name="Continue").click()  # empty: its errors
            audit(f"callback {slug} (errors)")
            response = page.request.post(f"{intake}/callback/{slug}", max_redirects=0,
                                         form={"csrf_token": token, **_flat(share)})
            assert response.status == 303, (slug, response.text()[:500])
            if slug == "safety":
                page.goto(f"{intake}/callback/call-999")
                audit("callback call-999")
        page.goto(f"{intake}/callback/check-your-answers")
        audit("callback check-your-answers")
        page.get_by_role("button", name="Send request").click()
        audit("callback confirmation")
        page.goto(f"{intake}/check")
        audit("check")
        page.get_by_role("button", name="Check").click()
        audit("check (errors)")
        page.goto(f"{intake}/nope")
        audit("404")
        page.goto(f"{intake}/report/when-and-where")  # no draft: back to the start, told why
        audit("timed out")
        page.goto(f"{intake}/api/v1/docs")
        page.wait_for_selector(".swagger-ui .info")
        audit("api docs")
    finally:
        context.close()
    return results


def _flat(share: dict[str, Any]) -> dict[str, str]:
    """Playwright's form posts take one value per name; the walk's answers have at most one."""
    return {k: (v[0] if isinstance(v, list) else v) for k, v in share.items()}


@pytest.fixture(scope="module")
def audits(browser, intake) -> dict[int, dict[str, tuple[list[dict[str, Any]], bool]]]:
    axe_js = axe_or_skip()
    return {viewport["width"]: _walk_every_page(browser, intake, viewport, axe_js,
                                                screenshots=True)
            for viewport in (PHONE, DESKTOP)}


@pytest.mark.parametrize("width", [PHONE["width"], DESKTOP["width"]])
def test_axe_finds_no_wcag_22_aa_violation_on_any_public_page(audits, width):
    found = {name: v for name, (v, _) in audits[width].items() if v}
    counts = {name: len(v) for name, (v, _) in audits[width].items()}
    print(f"axe violations at {width}px: {counts}")
    assert len(audits[width]) >= 23
    assert not found, found


def test_no_public_page_scrolls_sideways_on_a_phone(audits):
    wide = [name for name, (_, overflow) in audits[PHONE["width"]].items() if overflow]
    assert not wide, wide


def test_the_start_page_offers_both_choices_in_the_first_screen_of_a_phone(browser, intake):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(f"{intake}/")
        assert page.get_by_role("heading", level=1).inner_text() == \
            "Get help from Hertfordshire Constabulary"
        for name in ("Report a hate crime or incident", "Ask a liaison officer to contact me"):
            box = page.get_by_role("link", name=name).bounding_box()
            assert box and box["y"] + box["height"] <= PHONE["height"], name
        assert page.locator("main").inner_text().count("999") == 1
    finally:
        context.close()

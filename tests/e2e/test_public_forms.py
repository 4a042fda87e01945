"""A person using the public forms in headless Chromium, against gunicorn and real Redis."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.processes import run_intake

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def intake(redis_url: str, tmp_path: Path) -> Iterator[str]:
    yield from run_intake(redis_url, tmp_path, "1000 per minute")


def fill_valid_report(page) -> None:
    page.get_by_label("It happened to me").check()
    page.get_by_label("Tell us what happened").fill(
        "A group followed me from the station shouting homophobic abuse.")
    page.get_by_label("Sexual orientation").check()
    page.get_by_label("Someone was threatened with violence").check()
    page.get_by_label("Or describe when").fill("Saturday night, around 11pm")
    page.get_by_label("Postcode where it happened").fill("SG1 1XY")
    page.get_by_label("A liaison officer may contact me about this report").check()
    page.get_by_label("What name should we use for you?").fill("Robin")
    page.get_by_label("Text message").check()
    page.get_by_label("Phone number").fill("07700 900789")
    page.get_by_label("Weekday evenings 5pm to 9pm").check()
    page.locator("#contact-voicemail-ok-no").check()
    page.locator("#contact-shared-device-yes").check()
    page.locator("#contact-discreet-yes").check()


def test_a_person_reports_and_sees_their_reference(page, intake, redis_url):
    page.goto(f"{intake}/")
    assert page.get_by_text("In an emergency or if a crime is happening now, call 999").count()
    page.get_by_role("link", name="Report a hate crime or incident").click()
    fill_valid_report(page)
    page.get_by_role("button", name="Send report").click()
    reference = page.locator("#reference").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]", reference)
    assert "What happens next" in page.content()
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    case_id = client.get(f"liaison:ref:{reference}")
    assert client.hget(f"liaison:case:{case_id}", "district") == "stevenage"
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "intake-confirmation.png"), full_page=True)


def test_errors_appear_beside_the_fields_with_the_input_kept(page, intake):
    page.goto(f"{intake}/report")
    page.get_by_label("Tell us what happened").fill("Too short")
    page.get_by_label("Email address").fill("not an email")
    page.get_by_role("button", name="Send report").click()
    assert page.get_by_role("heading", name="There is a problem").is_visible()
    # The summary takes focus so a screen reader announces it.
    assert page.evaluate("document.activeElement.id") == "error-summary"
    what = page.locator("#what-happened")
    assert what.input_value() == "Too short"
    assert what.get_attribute("aria-invalid") == "true"
    assert "between 10" in page.locator("#what-happened-error").inner_text()
    assert page.locator("#hate-strands-error").is_visible()
    assert page.locator("#reporter-role-error").is_visible()
    assert page.get_by_label("Email address").input_value() == "not an email"
    # Each summary entry links to its field.
    page.get_by_role("link", name=re.compile("Choose at least one")).click()
    assert page.url.endswith("#hate-strands")
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "intake-errors.png"), full_page=True)


def test_escape_leaves_for_a_neutral_site_and_back_does_not_return(page, intake):
    neutral = []
    page.route("https://www.bbc.co.uk/**", lambda route: (neutral.append(route.request.url),
                                                          route.fulfill(body="weather")))
    page.goto(f"{intake}/")
    page.goto(f"{intake}/report")
    page.get_by_label("Tell us what happened").fill("Something private")
    page.keyboard.press("Escape")
    page.wait_for_url("https://www.bbc.co.uk/**")
    assert neutral, "the quick exit did not go to the neutral site"
    page.go_back()
    assert "Something private" not in page.content()
    assert "/report" not in page.url


def test_the_quick_exit_button_leaves_too(page, intake):
    page.route("https://www.bbc.co.uk/**", lambda route: route.fulfill(body="weather"))
    page.goto(f"{intake}/callback")
    page.get_by_role("link", name="Exit this page").click()
    page.wait_for_url("https://www.bbc.co.uk/**")

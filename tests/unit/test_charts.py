"""Server-rendered SVG charts: valid SVG, one bar per bucket, words for people who cannot see
them, no inline styles (CSP); and the hourly numbers behind them, read from the events."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest

from services.console import charts
from shared.store import Store
from shared.store.outcomes import HOUR

SVG = "{http://www.w3.org/2000/svg}"
HOURS = [f"{h:02d}:00" for h in range(24)]


def parse(svg: object) -> ET.Element:
    root = ET.fromstring(str(svg))
    assert root.tag == f"{SVG}svg"
    return root


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]


def test_a_bar_chart_has_one_bar_per_hour_with_a_tooltip_each():
    values = [0] * 23 + [6]
    root = parse(charts.bar_chart("arrivals", "Cases per hour", "6 cases.", HOURS,
                                  [charts.Series("cases", values)]))
    found = bars(root)
    assert len(found) == 24
    assert [float(b.get("height")) for b in found][:23] == [0.0] * 23
    assert float(found[-1].get("height")) > 0
    assert found[-1].find(f"{SVG}title").text == "23:00, cases: 6"


def test_a_chart_says_what_it_shows_in_words():
    root = parse(charts.bar_chart("c1", "Cases per hour", "6 cases.", HOURS,
                                  [charts.Series("cases", [1] * 24)]))
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Cases per hour. 6 cases."
    assert root.find(f"{SVG}title").text == "Cases per hour"
    assert root.find(f"{SVG}desc").text == "6 cases."
    assert root.get("aria-labelledby") == "c1-title c1-desc"


def test_two_series_give_two_bars_an_hour_and_a_legend():
    root = parse(charts.bar_chart(
        "accept", "Time to accept", "…", HOURS,
        [charts.Series("offer", [60.0] * 24), charts.Series("report", [None] * 23 + [90.0])],
        fmt=charts.seconds_text, steps=charts.TIME_STEPS))
    assert len(bars(root)) == 48
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "offer" in texts and "report" in texts
    assert {"30 s", "1 min", "1.5 min", "2 min"} <= set(texts)   # an axis of 30 s steps


def test_the_outcome_chart_has_a_bar_per_outcome_with_counts_and_shares():
    root = parse(charts.outcome_chart("o", "Offer outcomes", "3 accepted.",
                                      [("Accepted", 3), ("Declined", 1), ("Expired", 0)]))
    assert len(bars(root)) == 3
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "3 (75%)" in texts and "0 (0%)" in texts


@pytest.mark.parametrize("svg", [
    charts.bar_chart("a", "A <b> & \"c\"", "d", HOURS, [charts.Series("s", [3] * 24)]),
    charts.outcome_chart("b", "B", "no offers", []),
    charts.outcome_chart("c", "C", "x", [("Accepted", 0), ("Declined", 0), ("Expired", 0)]),
])
def test_charts_have_no_inline_styles_and_escape_their_text(svg):
    text = str(svg)
    root = parse(text)
    assert "style=" not in text and "<style" not in text
    assert all("style" not in el.attrib for el in root.iter())
    assert "<b>" not in text


@pytest.mark.parametrize(("value", "step"), [(0, 1), (1, 1), (4, 1), (5, 2), (9, 5), (90, 25),
                                             (450, 200), (3_000_000_000, 1_000_000_000)])
def test_count_axes_step_by_round_whole_numbers(value, step):
    assert charts.axis_step(value) == step


@pytest.mark.parametrize(("seconds", "step"), [(0, 1), (200, 60), (1000, 300), (4000, 1800),
                                               (20_000, 7200), (30_000, 3 * 3600)])
def test_time_axes_step_by_what_a_clock_reads(seconds, step):
    assert charts.axis_step(seconds, charts.TIME_STEPS) == step


@pytest.mark.parametrize(("seconds", "text"), [(45, "45 s"), (90, "1.5 min"), (600, "10 min"),
                                               (5400, "1.5 h"), (7200, "2 h")])
def test_times_on_charts_read_like_people_speak(seconds, text):
    assert charts.seconds_text(seconds) == text


# --- the numbers behind the charts ----------------------------------------------------------

def add(store: Store, kind: str, at: float, **fields: str) -> None:
    store.redis.xadd(store.keys.events, {"type": kind, "at": f"{at:.6f}", **fields})


def test_arrivals_times_to_accept_and_outcomes_are_counted_per_hour(fake_store):
    now = (time.time() // HOUR) * HOUR + 1800.0          # half past this hour
    add(fake_store, "CaseReceived", now - 25 * HOUR)      # too old: not counted
    add(fake_store, "CaseReceived", now - 23 * HOUR)      # the first bucket
    for _ in range(3):
        add(fake_store, "CaseReceived", now - 60)
    add(fake_store, "OfferAccepted", now - 120, offer_seconds="30", since_received="100")
    add(fake_store, "OfferAccepted", now - 60, offer_seconds="90", since_received="300")
    add(fake_store, "OfferAccepted", now - 50, offer_seconds="60", since_received="200")
    add(fake_store, "OfferDeclined", now - 40)
    add(fake_store, "OfferExpired", now - 2 * HOUR)
    add(fake_store, "CaseViewed", now - 30)
    activity = fake_store.outcomes.activity(now=now)
    assert activity.hours == 24 and activity.start == now - 1800 - 23 * HOUR
    assert activity.arrivals[0] == 1 and activity.arrivals[-1] == 3
    assert sum(activity.arrivals) == 4
    assert activity.medians(activity.offer_to_accept)[-1] == 60
    assert activity.medians(activity.report_to_accept)[-1] == 200
    assert activity.medians(activity.offer_to_accept)[0] is None
    assert activity.outcomes == {"accepted": 3, "declined": 1, "expired": 1}
    assert not activity.truncated

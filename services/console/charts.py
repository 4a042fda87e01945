"""Charts as server-rendered SVG: no JavaScript, no chart library, nothing from a CDN.

Each chart is an `<svg role="img">` with an `aria-label`, a `<title>` and a `<desc>` that
say what it shows in words, and a `<title>` on every bar (a tooltip, and read by screen
readers); the page adds the numbers as a table too. Colours are presentation attributes
(`fill=`), never `style=`: the console's CSP forbids inline styles. Every bucket gets a bar,
even an empty one (height 0), so a chart's shape never depends on the data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from shared.store.outcomes import Activity

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 16, 44
INK, GRID = "#0b0c0c", "#d0d0d8"
PALETTE = ("#1d70b8", "#f47738", "#00703c", "#d4351c", "#505a5f")
Format = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]    # one per bucket; None = nothing to show
    colour: str = PALETTE[0]


def count_text(value: float) -> str:
    return f"{value:,.0f}"


def seconds_text(value: float) -> str:
    """Seconds for an axis or tooltip: '45 s', '1.5 min', '12 min', '2.5 h'."""
    for unit, size in (("h", 3600), ("min", 60)):
        if value >= size:
            return f"{value / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{value:.0f} s"


GRIDLINES = 4
# Whole counts step by 1, 2, 5, 10, 20, 25, 50...; times by steps a clock reads well.
COUNT_STEPS = tuple(m * 10 ** e for e in range(0, 9) for m in (1, 2, 2.5, 5) if m * 10 ** e >= 1
                    and (m != 2.5 or e > 0))
TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 3 * 3600,
              6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400)


def axis_step(value: float, steps: Sequence[float] = COUNT_STEPS) -> float:
    """The smallest step in `steps` whose `GRIDLINES` lines reach `value` (at least one)."""
    need = value / GRIDLINES
    return float(next((step for step in steps if step >= need),
                      steps[-1] * math.ceil(need / steps[-1])))


def _attrs(**attrs: object) -> str:
    return "".join(f' {name.rstrip("_").replace("_", "-")}="{escape(str(value))}"'
                   for name, value in attrs.items())


def _tag(name: str, content: str = "", **attrs: object) -> str:
    """One SVG element; attribute names in snake_case (`text_anchor` -> `text-anchor`)."""
    opening = f"<{name}{_attrs(**attrs)}"
    return f"{opening}>{content}</{name}>" if content else f"{opening}/>"


def _num(value: float) -> str:
    return f"{value:.1f}"


def _open(chart_id: str, title: str, summary: str, height: int = HEIGHT) -> list[str]:
    attrs = _attrs(viewBox=f"0 0 {WIDTH} {height}", role="img", class_="chart",
                   aria_labelledby=f"{chart_id}-title {chart_id}-desc",
                   aria_label=f"{title}. {summary}", preserveAspectRatio="xMidYMid meet")
    return [f'<svg xmlns="http://www.w3.org/2000/svg"{attrs}>',
            _tag("title", escape(title), id=f"{chart_id}-title"),
            _tag("desc", escape(summary), id=f"{chart_id}-desc")]


def _text(x: float, y: float, text: str, anchor: str = "middle", size: int = 13,
          weight: str = "normal") -> str:
    return _tag("text", escape(text), x=_num(x), y=_num(y), text_anchor=anchor,
                font_size=size, font_weight=weight, fill=INK)


def _bar(x: float, y: float, width: float, height: float, colour: str, tip: str) -> str:
    return _tag("rect", _tag("title", escape(tip)), class_="bar", x=_num(x), y=_num(y),
                width=_num(width), height=_num(height), fill=colour)


def bar_chart(chart_id: str, title: str, summary: str, labels: Sequence[str],
              series: Sequence[Series], *, fmt: Format = count_text,
              steps: Sequence[float] = COUNT_STEPS, label_every: int = 3) -> Markup:
    """Vertical bars, one group per label and one bar per series in each group."""
    step = axis_step(max((v for s in series for v in s.values if v is not None), default=0.0),
                     steps)
    top = step * GRIDLINES
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h
    parts = _open(chart_id, title, summary)
    for i in range(GRIDLINES + 1):  # gridlines and the y axis labels
        value = step * i
        y = base - plot_h * i / GRIDLINES
        parts.append(_tag("line", x1=LEFT, x2=WIDTH - RIGHT, y1=_num(y), y2=_num(y),
                          stroke=GRID if i else INK, stroke_width=1))
        parts.append(_text(LEFT - 6, y + 4, fmt(value), anchor="end"))
    group = plot_w / max(1, len(labels))
    bar = group * 0.8 / max(1, len(series))
    for i, label in enumerate(labels):
        x0 = LEFT + i * group + group * 0.1
        for j, s in enumerate(series):
            v = s.values[i] if i < len(s.values) else None
            h = 0.0 if v is None else plot_h * v / top
            tip = f"{label}, {s.name}: " + ("none" if v is None else fmt(v))
            parts.append(_bar(x0 + j * bar, base - h, max(bar - 1, 1), h, s.colour, tip))
        if i % label_every == 0:
            parts.append(_text(LEFT + (i + 0.5) * group, base + 18, label))
    if len(series) > 1:
        parts.extend(_legend(series, HEIGHT - 8))
    parts.append("</svg>")
    return Markup("".join(parts))


def _legend(series: Sequence[Series], y: float) -> list[str]:
    parts, x = [], float(LEFT)
    for s in series:
        parts.append(_tag("rect", x=_num(x), y=_num(y - 9), width=10, height=10,
                          fill=s.colour))
        parts.append(_text(x + 14, y + 1, s.name, anchor="start"))
        x += 28 + 8 * len(s.name)
    return parts


def outcome_chart(chart_id: str, title: str, summary: str,
                  outcomes: Sequence[tuple[str, int]]) -> Markup:
    """Horizontal bars, one per outcome, each labelled with its count and share."""
    row, height = 34, TOP + 34 * max(1, len(outcomes)) + 8
    total = sum(n for _, n in outcomes)
    top = max((n for _, n in outcomes), default=0) or 1
    label_w, plot_w = 110, WIDTH - 110 - RIGHT - 90
    parts = _open(chart_id, title, summary, height)
    for i, (name, n) in enumerate(outcomes):
        y = TOP + i * row
        share = f" ({n / total:.0%})" if total else ""
        w = plot_w * n / top
        parts.append(_text(label_w - 8, y + 17, name, anchor="end", size=13))
        parts.append(_bar(label_w, y + 4, w, row - 12, PALETTE[i % len(PALETTE)],
                          f"{name}: {n}{share}"))
        parts.append(_text(label_w + w + 6, y + 17, f"{n}{share}", anchor="start", size=13,
                           weight="bold"))
    parts.append("</svg>")
    return Markup("".join(parts))


# --- the supervisor dashboard's three charts ----------------------------------------------

def dashboard_charts(activity: Activity, tz: ZoneInfo) -> dict[str, Any]:
    """Arrivals, time to accept and offer outcomes over the last day (hours in `tz`), with
    the numbers for the table beside them."""
    hours = [datetime.fromtimestamp(activity.start + i * 3600, tz).strftime("%H:%M")
             for i in range(activity.hours)]
    offer = activity.medians(activity.offer_to_accept)
    report = activity.medians(activity.report_to_accept)
    outcomes = [(name.capitalize(), n) for name, n in activity.outcomes.items()]
    rows = [{"hour": hour, "arrivals": activity.arrivals[i], "offer": offer[i],
             "report": report[i], "accepted": len(activity.offer_to_accept[i])}
            for i, hour in enumerate(hours)]
    return {
        "rows": rows, "outcomes": outcomes, "truncated": activity.truncated,
        "arrivals": bar_chart("chart-arrivals", "Cases received per hour, last 24 hours",
                              _arrivals_summary(activity, hours), hours,
                              [Series("cases", activity.arrivals)]),
        "accept": bar_chart("chart-accept", "Time to accept, median per hour, last 24 hours",
                            _accept_summary(activity), hours,
                            [Series("offer to acceptance", offer, PALETTE[0]),
                             Series("report to acceptance", report, PALETTE[1])],
                            fmt=seconds_text, steps=TIME_STEPS),
        "outcomes_svg": outcome_chart(
            "chart-outcomes", "Offer outcomes, last 24 hours",
            ", ".join(f"{n} {name.lower()}" for name, n in outcomes) + ".", outcomes),
    }


def _arrivals_summary(activity: Activity, hours: Sequence[str]) -> str:
    total = sum(activity.arrivals)
    if not total:
        return "No cases received."
    busiest = max(range(activity.hours), key=lambda i: activity.arrivals[i])
    return (f"{total} cases received. Busiest hour {hours[busiest]} with "
            f"{activity.arrivals[busiest]}.")


def _accept_summary(activity: Activity) -> str:
    offer = [v for hour in activity.offer_to_accept for v in hour]
    report = [v for hour in activity.report_to_accept for v in hour]
    if not offer:
        return "No offers accepted."
    whole = activity.medians([offer, report])
    return (f"{len(offer)} offers accepted; median {seconds_text(whole[0] or 0)} "
            f"from offer and {seconds_text(whole[1] or 0)} from report.")

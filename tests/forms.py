"""Helpers to fill the public HTML forms the way a browser would."""

from __future__ import annotations

import re
from typing import Any

from services.intake.steps import CHECK, STEPS

_HIDDEN = re.compile(r'name="(csrf_token|submission_id)" value="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    """The CSRF token and submission id a rendered form carries."""
    return dict(_HIDDEN.findall(html))


def report_form(**overrides: Any) -> dict[str, Any]:
    """A complete, valid report as the stepped pages post it (dotted names; `walk_report`
    posts each step's share)."""
    data: dict[str, Any] = {
        "anonymous": "no",
        "reporter_role": "victim",
        "what_happened": "A neighbour keeps shouting transphobic slurs when I leave home.",
        "hate_strands": ["transgender_identity"],
        "repeat_incident": "on",
        "when.description": "Most evenings since September",
        "incident_location.postcode": "AL1 3JX",
        "home_area.district": "st_albans",
        "consent_to_contact": "yes",
        "contact.name": "Alex",
        "contact.pronouns": "she/her",
        "contact.channels": ["email"],
        "contact.email": "alex@example.org",
        "contact.safe_times": ["weekday_evening"],
        "contact.voicemail_ok": "no",
        "contact.shared_device": "yes",
        "contact.discreet": "yes",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def callback_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "contact.name": "Jo",
        "contact.channels": ["phone"],
        "contact.phone": "07700 900456",
        "contact.safe_times": ["any_time"],
        "contact.voicemail_ok": "yes",
        "contact.shared_device": "no",
        "contact.discreet": "no",
        "home_area.postcode": "HP1 1AA",
        "reason": "Advice about online harassment.",
        "preferred_times": ["weekend_daytime"],
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def report_steps(fields: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(step slug, that step's fields) in journey order; the contact step is left out of an
    anonymous report, as the pages leave it out."""
    walk = []
    for step in STEPS:
        if step.slug == "contact" and fields.get("anonymous") == "yes":
            continue
        walk.append((step.slug, {k: v for k, v in fields.items() if k in step.fields}))
    return walk


def walk_report(client: Any, fields: dict[str, Any], *, base: str = "",
                send: bool = True) -> Any:
    """Fill the report step by step as a browser would (a Flask test client or a
    requests.Session, with `base` its URL) and send it: the send's response. With
    `send=False`, stop at check your answers and return its page's response."""
    token = hidden_fields(client.get(f"{base}/report/{STEPS[0].slug}").text)["csrf_token"]
    for slug, share in report_steps(fields):
        resp = client.post(f"{base}/report/{slug}", data={"csrf_token": token, **share})
        if resp.status_code >= 400:  # a step sent back (or refused): show the caller
            return resp
    page = client.get(f"{base}/report/{CHECK}")
    if not send:
        return page
    return client.post(f"{base}/report/{CHECK}", data={"csrf_token": token})


def send_report(client: Any, *, base: str = "") -> Any:
    """Send the draft this session holds again (check your answers' button)."""
    page = client.get(f"{base}/report/{CHECK}")
    token = hidden_fields(page.text).get("csrf_token", "")
    return client.post(f"{base}/report/{CHECK}", data={"csrf_token": token})

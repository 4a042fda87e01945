"""Helpers to fill the public HTML forms the way a browser would."""

from __future__ import annotations

import base64
import re
import zlib
from typing import Any

from services.intake import callback
from services.intake.report import STEPS
from services.intake.steps import CHECK

_HIDDEN = re.compile(r'name="(csrf_token|submission_id)" value="([^"]*)"')
_SUMMARY_LINK = re.compile(r'<li><a href="#([^"]+)">([^<]+)</a></li>')


def hidden_fields(html: str) -> dict[str, str]:
    """The CSRF token and submission id a rendered form carries."""
    return dict(_HIDDEN.findall(html))


def error_summary(html: str) -> list[tuple[str, str]]:
    """The error summary's (anchor, message) links, in order."""
    return [(anchor, text.replace("&#39;", "'").replace("&#34;", '"'))
            for anchor, text in _SUMMARY_LINK.findall(html)]


def decoded_session(value: str) -> str:
    """What a Flask session cookie holds (signed, not encrypted: anyone can read it)."""
    payload = value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return (zlib.decompress(raw) if value.startswith(".") else raw).decode()


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
    """A complete, valid callback request as its stepped pages post it (`walk_callback`)."""
    data: dict[str, Any] = {
        "in_danger": "no",
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


def callback_steps(fields: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(step slug, that step's fields) of the callback request, in journey order."""
    return [(step.slug, {k: v for k, v in fields.items() if k in step.fields})
            for step in callback.STEPS]


def walk_callback(client: Any, fields: dict[str, Any], *, base: str = "",
                  send: bool = True) -> Any:
    """Fill the callback request step by step as a browser would and send it: the send's
    response (or the first step sent back). With `send=False`, stop at check your answers."""
    first = callback.STEPS[0].slug
    token = hidden_fields(client.get(f"{base}/callback/{first}").text)["csrf_token"]
    for slug, share in callback_steps(fields):
        resp = client.post(f"{base}/callback/{slug}", data={"csrf_token": token, **share})
        if resp.status_code >= 400:
            return resp
    page = client.get(f"{base}/callback/{CHECK}")
    if not send:
        return page
    return client.post(f"{base}/callback/{CHECK}", data={"csrf_token": token})

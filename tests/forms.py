"""Helpers to fill the public HTML forms the way a browser would."""

from __future__ import annotations

import re
from typing import Any

_HIDDEN = re.compile(r'name="(csrf_token|submission_id)" value="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    """The CSRF token and submission id a rendered form carries."""
    return dict(_HIDDEN.findall(html))


def report_form(**overrides: Any) -> dict[str, Any]:
    """A complete, valid report form as posted fields (dotted names)."""
    data: dict[str, Any] = {
        "reporter_role": "victim",
        "what_happened": "A neighbour keeps shouting transphobic slurs when I leave home.",
        "hate_strands": ["transgender_identity"],
        "repeat_incident": "on",
        "when.description": "Most evenings since September",
        "incident_location.postcode": "AL1 3JX",
        "home_area.district": "st_albans",
        "consent_to_contact": "on",
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

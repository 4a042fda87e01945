"""Valid submissions to start tests from (fresh dicts each call)."""

from __future__ import annotations

from typing import Any


def contact(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Sam",
        "pronouns": "they/them",
        "channels": ["sms", "email"],
        "phone": "07700 900123",
        "email": "sam@example.org",
        "safe_times": [{"days": ["mon", "tue", "wed"], "start": "18:00", "end": "21:00"}],
        "voicemail_ok": False,
        "shared_device": True,
        "discreet": True,
    }
    data.update(overrides)
    return data


def report(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "reporter_role": "victim",
        "what_happened": "Two men shouted homophobic abuse at me and my partner at the bus stop.",
        "when": {"date": "2026-11-20", "time": "22:15", "approximate": True},
        "incident_location": {"postcode": "WD17 1AA", "description": "bus stop by the station"},
        "home_area": {"district": "st_albans"},
        "hate_strands": ["sexual_orientation"],
        "threats": True,
        "consent_to_contact": True,
        "contact": contact(),
    }
    data.update(overrides)
    return data


def callback(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "contact": contact(channels=["phone"], email=None),
        "home_area": {"postcode": "SG1 1AA"},
        "reason": "I would like advice about messages I keep getting.",
        "preferred_times": [{"days": ["sat"], "start": "10:00", "end": "12:00"}],
        "needs": {"language": "Polish", "bsl_interpreter": False},
    }
    data["contact"].pop("email")
    data.update(overrides)
    return data

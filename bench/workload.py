"""What the benchmarks send and who receives it: report bodies and a roster of officers."""

from __future__ import annotations

import json

from shared.domain.officers import Officer
from shared.domain.rota import always_on
from shared.geography import load_force
from shared.store import Store
from tests import payloads


def districts() -> list[str]:
    """The force's district codes, in a fixed order."""
    return sorted(load_force().districts)


def report_bodies(count: int) -> list[bytes]:
    """`count` valid partner-API reports spread over every district.

    No contact details: `run_intake` gives intake a sealing key of its own, so a notifier
    could not open a reporter acknowledgement and would retry it; offers need no unsealing.
    """
    codes = districts()
    bodies = []
    for i in range(count):
        data = payloads.report(incident_location={"district": codes[i % len(codes)],
                                                  "description": "bus stop"},
                               consent_to_contact=False)
        data.pop("contact")
        bodies.append(json.dumps(data).encode())
    return bodies


def roster(store: Store, per_district: int, capacity: int, *, mail_domain: str = "",
           webhook_url: str = "") -> list[str]:
    """Save always-on officers in every district; email and a webhook when given."""
    ids = []
    for code in districts():
        for n in range(per_district):
            officer_id = f"{code}-{n}"
            channels = (f"webhook+{webhook_url}/hooks/{officer_id}",) if webhook_url else ()
            store.officers.save(
                Officer(id=officer_id, name=officer_id.title(), districts=(code,),
                        capacity=capacity, rota=always_on(),
                        email=f"{officer_id}@{mail_domain}" if mail_domain else "",
                        channels=channels),
                on_shift=True, next_change=None)
            ids.append(officer_id)
    return ids

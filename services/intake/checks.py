"""Check my report: a reference and its check code → the status in discreet words.

Only the case's HMAC of its code is read (`check_digest`); the typed code is compared with
it in constant time, and a wrong reference costs the same reads and the same HMAC as a
wrong code, so neither the answer nor its timing says which was wrong. Every look-up is
audited: a disclosure when it answers, a refused access (never the typed code) when not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from hmac import compare_digest
from typing import Any
from zoneinfo import ZoneInfo

from shared.bootstrap import Deps
from shared.domain.checks import next_update_by, status_words
from shared.receiving import check_digest

NO_MATCH = ("We could not find a report with that reference and check code. "
            "Check both and try again.")
_NO_CASE = "-"
_NO_DIGEST = "0" * 64  # what an unknown reference is compared with: it never matches


@dataclass(frozen=True)
class StatusAnswer:
    status: str
    next_update_by: date | None

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "next_update_by": self.next_update_by}


def check_status(reference: str, code: str, deps: Deps, *, via: str) -> StatusAnswer | None:
    """The status of the case with this reference if `code` is its check code, else None
    (the same None for an unknown reference and a wrong code). `via`: intake-check (the
    page) or intake-api. Raises StoreUnavailable when Redis is."""
    found = deps.store.status.lookup(reference)
    case_id = found["id"] if found else ""
    stored = (found or {}).get("check_digest") or _NO_DIGEST
    given = check_digest(deps.settings.secret_key, case_id or _NO_CASE, code)
    matched = compare_digest(given, stored) and found is not None
    now = deps.clock()
    if not matched or found is None:
        deps.store.audit.record_status_check(
            case_id, via=via, now=now, refused="wrong_code" if found else "unknown_reference")
        return None
    deps.store.audit.record_status_check(case_id, via=via, now=now)
    return StatusAnswer(status_words(found), next_update_by(found, ZoneInfo(deps.force.timezone)))

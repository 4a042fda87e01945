"""Why someone other than the case's own officer opens it.

DPA 2018 s.62(3) asks that the log of a consultation makes it possible to establish its
justification. A case's own officer reads it to do the work; anyone else (a supervisor,
or an officer the case is not with) says why, from a fixed list, and may give the
reference of the incident, request or complaint behind it. A fixed list and a reference in
a narrow pattern, not free text: the audit trail is plain text in Redis and shipped to the
force's log store, so it must never hold a name or an account of what happened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# code -> the wording the console shows (and the audit page reads back)
PURPOSES: dict[str, str] = {
    "supervision": "Supervising or reviewing the case",
    "reporter_contact": "The person has contacted us about it",
    "safeguarding": "A safeguarding or risk concern",
    "allocation": "Deciding who should take the case",
    "request": "A complaint, disclosure or legal request",
    "other_duty": "Another policing purpose (give its reference)",
}
NEEDS_REFERENCE = frozenset({"other_duty", "request"})
REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9/ .:-]{0,39}\Z"
_REFERENCE = re.compile(REFERENCE_PATTERN)

MESSAGES = {
    "purpose": "Choose why you are opening this case.",
    "reference": "Enter the incident, request or complaint reference: up to 40 letters, "
                 "digits, spaces and / . : - (no names).",
    "reference_needed": "Enter the reference of the request or duty you are opening it for.",
}


class ReasonError(ValueError):
    """A reason that cannot be used: `field` names the form field, `message` says what to do."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Reason:
    purpose: str
    reference: str = ""

    @property
    def label(self) -> str:
        return PURPOSES[self.purpose]

    def audit_fields(self) -> dict[str, str]:
        fields = {"purpose": self.purpose}
        if self.reference:
            fields["reference"] = self.reference
        return fields


def reason_from(purpose: str | None, reference: str | None) -> Reason:
    """The reason given, checked; ReasonError names the field that is wrong."""
    code = (purpose or "").strip()
    if code not in PURPOSES:
        raise ReasonError("purpose", MESSAGES["purpose"])
    ref = " ".join((reference or "").split())
    if ref and not _REFERENCE.match(ref):
        raise ReasonError("reference", MESSAGES["reference"])
    if code in NEEDS_REFERENCE and not ref:
        raise ReasonError("reference", MESSAGES["reference_needed"])
    return Reason(code, ref)


def needs_reason(case: dict[str, str], staff_id: str) -> bool:
    """Anyone but the officer the case is with (or offered to) gives a reason."""
    return case.get("officer") != staff_id

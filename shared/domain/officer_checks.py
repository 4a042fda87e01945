"""Value checks for an officer record, shared by the admin pages, the `liaison` CLI and the
roster import.

Each check returns the cleaned value or raises ValueError with a message that does not
repeat the field's name, so the CLI can prefix its option, the import its column and the
admin form its field. Pure: no store, no framework.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Protocol

from shared.domain.officers import Availability, Role
from shared.domain.rota import parse_shift
from shared.domain.weekly import Window

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
_SKILL = re.compile(r"^[a-z0-9][a-z0-9_:.-]{0,39}$")
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


class ForceDistricts(Protocol):
    """What `check_districts` needs of a force (`shared.geography.Force` has it)."""

    @property
    def name(self) -> str: ...

    @property
    def districts(self) -> Mapping[str, object]: ...

    def has_district(self, code: str) -> bool: ...


def check_name(text: str) -> str:
    name = " ".join(text.split())
    if not name or len(name) > 100:
        raise ValueError("give a name of 1 to 100 characters")
    return name


def check_districts(force: ForceDistricts, codes: Iterable[str]) -> tuple[str, ...]:
    """District codes of the force, in order, without repeats."""
    found: list[str] = []
    for code in (c.strip().lower() for c in codes):
        if not force.has_district(code):
            raise ValueError(f"{code!r} is not a district of {force.name}; use one of "
                             + ", ".join(force.districts))
        if code not in found:
            found.append(code)
    return tuple(found)


def check_skills(items: Iterable[str]) -> frozenset[str]:
    skills = {s.strip().lower() for s in items if s.strip()}
    for skill in sorted(skills):
        if not _SKILL.match(skill):
            raise ValueError(f"{skill!r} is not a skill name; use letters, digits and "
                             "'_:.-', like lang:polish, bsl or trans_specialist")
    return frozenset(skills)


def check_capacity(text: str) -> int:
    try:
        capacity = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None
    if capacity < 0:
        raise ValueError(f"{capacity} is negative; give 0 or more open cases")
    return capacity


def check_email(text: str) -> str:
    email = text.strip()
    if email and not _EMAIL.match(email):
        raise ValueError(f"{email!r} is not an email address")
    return email


# The schemes an officer's channel may use (shared.outbound.CHANNEL_SCHEMES has the same
# keys with their rules; the CLI and the admin page also pass each URL through that fence,
# which resolves the host and refuses internal addresses).
CHANNEL_URL_SCHEMES = ("webhook+https", "webhook+http", "jsons", "forms", "json", "form",
                       "workflows", "workflow", "mailto", "mailtos", "twilio", "clicksend")


def check_channels(urls: Iterable[str]) -> tuple[str, ...]:
    """Notification URLs of an allowed scheme, like mailto://name@host or
    webhook+https://host/path (shape only: no DNS here)."""
    found = tuple(urls)
    for url in found:
        scheme, sep, rest = url.partition("://")
        if not sep or any(c.isspace() for c in url) or not rest.strip("/"):
            raise ValueError(f"{url[:40]!r} is not a notification URL, like "
                             "mailto://name@host or webhook+https://host/path")
        if scheme.lower() not in CHANNEL_URL_SCHEMES:
            raise ValueError(f"scheme {scheme[:20]!r} is not allowed; use one of "
                             + ", ".join(f"{s}://" for s in CHANNEL_URL_SCHEMES))
    return found


def check_shifts(specs: Iterable[str]) -> tuple[Window, ...]:
    """Shift specs like 'mon-fri 08:00-16:00' -> windows (parse_shift's message on error)."""
    return tuple(parse_shift(spec) for spec in specs if spec.strip())


def check_id(text: str) -> str:
    officer_id = text.strip()
    if not _ID.match(officer_id):
        raise ValueError(f"{officer_id!r} is not an id; use 1-40 lower-case letters, digits "
                         "and '_.-'")
    return officer_id


def check_role(text: str) -> Role:
    try:
        return Role(text.strip().lower() or Role.OFFICER.value)
    except ValueError:
        raise ValueError(f"{text!r} is not a role; use "
                         + ", ".join(r.value for r in Role)) from None


def check_status(text: str) -> Availability:
    try:
        return Availability(text.strip().lower() or Availability.AVAILABLE.value)
    except ValueError:
        raise ValueError(f"{text!r} is not a status; use "
                         + ", ".join(a.value for a in Availability)) from None

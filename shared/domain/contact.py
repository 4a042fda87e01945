"""The contact-safety rule (DESIGN §4): may we contact this person, on which channel, now,
with which wording and under which name? Pure; intake, the notifier and the console all ask
here and nowhere else.

Unknown means the cautious answer: no profile (anonymous, no consent, no reachable way)
means no contact at all; a profile that does not say is read as no voicemail, a shared
device and discreet wording; a safe-times list that is missing or unreadable never opens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from shared.domain.weekly import Window, next_start, within

#: Ways a person may be contacted (the form's choices), besides "none".
CHANNELS = ("phone", "sms", "email")
#: Ways the notifier can use by itself (a phone call is for a person to make).
AUTOMATIC = ("email", "sms")


class Wording(StrEnum):
    PLAIN = "plain"
    DISCREET = "discreet"  # no "police", "LGBT+" or "hate crime" in subjects, previews, voicemail


@dataclass(frozen=True)
class ContactProfile:
    """How, when and under which name it is safe to contact one person."""

    channels: tuple[str, ...]
    phone: str = ""
    email: str = ""
    windows: tuple[Window, ...] = ()
    any_time: bool = False
    voicemail_ok: bool = False
    shared_device: bool = True
    discreet: bool = True
    name: str = ""
    pronouns: str = ""

    @property
    def wording(self) -> Wording:
        """Discreet when they asked for it or share a device (anything else may be seen)."""
        return Wording.DISCREET if self.discreet or self.shared_device else Wording.PLAIN

    def safe_at(self, at: datetime, tz: ZoneInfo) -> bool:
        """Whether `at` is inside a time they said is safe."""
        return self.any_time or within(self.windows, at, tz)

    def next_safe(self, at: datetime, tz: ZoneInfo) -> datetime | None:
        """`at` itself when it is safe, else the next safe start (None: never)."""
        if self.safe_at(at, tz):
            return at
        return next_start(self.windows, at, tz)

    def allows(self, channel: str) -> bool:
        """A channel they chose, with the address it needs."""
        if channel not in self.channels:
            return False
        return bool(self.email) if channel == "email" else bool(self.phone)

    def automatic_route(self, *, sms_enabled: bool) -> tuple[str, str] | None:
        """(channel, address) of the first way they chose that the notifier may use by
        itself: email, or SMS when an SMS gateway is set up. None: people only."""
        for channel in self.channels:
            if channel in AUTOMATIC and self.allows(channel) \
                    and (channel != "sms" or sms_enabled):
                return channel, self.email if channel == "email" else self.phone
        return None


def profile_for(kind: str, submission: Mapping[str, Any]) -> ContactProfile | None:
    """The person's contact profile if they may be contacted at all, else None.

    Never for an anonymous report; a report only with consent (a callback request is itself
    consent); only with at least one way other than "no contact".
    """
    contact = submission.get("contact")
    if not isinstance(contact, Mapping) or submission.get("anonymous"):
        return None
    if _value(kind) != "callback" and not submission.get("consent_to_contact"):
        return None
    chosen = contact.get("channels")
    channels = tuple(dict.fromkeys(
        c for c in (_value(c) for c in (chosen if isinstance(chosen, Sequence)
                                        and not isinstance(chosen, str) else ()))
        if c in CHANNELS))
    if not channels:
        return None
    return ContactProfile(
        channels=channels, phone=_text(contact.get("phone")), email=_text(contact.get("email")),
        windows=windows_of(contact.get("safe_times")), any_time=contact.get("any_time") is True,
        voicemail_ok=contact.get("voicemail_ok") is True,
        shared_device=contact.get("shared_device") is not False,
        discreet=contact.get("discreet") is not False,
        name=_text(contact.get("name")), pronouns=_text(contact.get("pronouns")))


def contactable(kind: str, submission: Mapping[str, Any]) -> bool:
    """Whether anyone may contact this person at all (stored on the case as routing data)."""
    return profile_for(kind, submission) is not None


def windows_of(raw: Any) -> tuple[Window, ...]:
    """Safe-time windows from stored dicts; one that cannot be read never opens."""
    found = []
    for item in raw if isinstance(raw, Sequence) and not isinstance(raw, str) else ():
        try:
            found.append(Window.from_dict(item))
        except (ValueError, TypeError, AttributeError):
            continue
    return tuple(found)


def _value(item: Any) -> str:
    return str(getattr(item, "value", item))


def _text(item: Any) -> str:
    return item if isinstance(item, str) else ""

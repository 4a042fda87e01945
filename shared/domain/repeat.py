"""Repeat victims: the same person reporting again within 12 months. Pure.

A person is known only by keyed digests (HMAC-SHA256 under a key derived from
LIAISON_SECRET_KEY with its own label) of their normalised email (lower-case, trimmed)
and normalised phone (digits only, a UK leading 0 as +44) from the contact profile — never
by the values themselves. Anonymous reports and reports without contact details have no
digest and are never linked. A linked case is *enhanced* (Victims' Code enhanced rights).
"""

from __future__ import annotations

import hashlib
import hmac

from shared.domain.contact import ContactProfile

LINK_LABEL = b"liaison repeat victim v1"
LINK_WINDOW_SECONDS = 365 * 86400  # 12 months: earlier cases are no longer linked


def normal_email(email: str) -> str:
    return email.strip().lower()


def normal_phone(phone: str) -> str:
    """Digits only, with a UK national number's leading 0 as 44 (so 07700 900123 and
    +44 7700 900123 are one number); "" when fewer than 7 digits remain."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = "44" + digits[1:]
    return f"+{digits}" if len(digits) >= 7 else ""


def person_digests(secret_key: str, profile: ContactProfile | None) -> tuple[str, ...]:
    """The keyed digests that identify the person behind a contact profile (email and/or
    phone); () for no profile (anonymous, no consent) or no contact details."""
    if profile is None:
        return ()
    key = hmac.new(secret_key.encode(), LINK_LABEL, hashlib.sha256).digest()
    values = [f"email:{normal_email(profile.email)}" if normal_email(profile.email) else "",
              f"phone:{normal_phone(profile.phone)}" if normal_phone(profile.phone) else ""]
    return tuple(hmac.new(key, v.encode(), hashlib.sha256).hexdigest() for v in values if v)

"""Check my report: the check code a reporter gets at intake, and what a look-up may say.

The answer is the status only, in words that give nothing away to someone looking over a
shoulder, and the date of the next update if one is promised — never a name, a district or
what was reported. Pure: intake issues and checks codes; the store keeps only their HMAC.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from shared.domain.references import ALPHABET

CODE_LENGTH = 10  # 50 bits: with the per-reference limit, guessing is hopeless
_SYMBOLS = frozenset(ALPHABET)

RECEIVED = "received"
WITH_OFFICER = "with a liaison officer"
IN_TOUCH = "an officer has been in touch"
CLOSED = "closed"
WORDS = (RECEIVED, WITH_OFFICER, IN_TOUCH, CLOSED)


def new_check_code() -> str:
    """A fresh check code like `K7XMQ-4PAR9`: the reference's alphabet (no 0/O, 1/I)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{body[:5]}-{body[5:]}"


def normalise_check_code(text: str) -> str | None:
    """The canonical form of a code a person typed (any case, spaces or dashes), or None."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(cleaned) != CODE_LENGTH or not set(cleaned) <= _SYMBOLS:
        return None
    return f"{cleaned[:5]}-{cleaned[5:]}"


def status_words(fields: Mapping[str, str]) -> str:
    """What a look-up says of a case (its hash's plain fields): one of `WORDS`.

    Once an officer has been in touch it stays so until closed, even if the case is later
    reassigned (a person must never see their case go backwards). An erased case is closed.
    """
    state = fields.get("state", "")
    if state == "closed" or fields.get("erased_at"):
        return CLOSED
    if state == "contacted" or fields.get("first_contact_at"):
        return IN_TOUCH
    if state == "accepted":
        return WITH_OFFICER
    return RECEIVED


def next_update_by(fields: Mapping[str, str], tz: ZoneInfo) -> date | None:
    """The local date by which the next update is due (`next_update_at`, epoch seconds,
    when the case carries one and is still open), else None."""
    raw = fields.get("next_update_at", "")
    if not raw or status_words(fields) == CLOSED:
        return None
    try:
        return datetime.fromtimestamp(float(raw), UTC).astimezone(tz).date()
    except (ValueError, OverflowError, OSError):
        return None

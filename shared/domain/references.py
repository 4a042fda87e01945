"""Case references: random, not guessable in sequence, easy to read aloud over the phone.

Eight characters from an alphabet with no 0/O or 1/I, plus a check character that
catches any single mistyped character and most swapped neighbours: `K7XM-4QPA-Q`.
"""

from __future__ import annotations

import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols: no 0, O, 1 or I
_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}
BODY_LENGTH = 8


def _check_char(body: str) -> str:
    # Luhn mod N over the alphabet.
    factor, total, n = 2, 0, len(ALPHABET)
    for ch in reversed(body):
        addend = factor * _INDEX[ch]
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return ALPHABET[(n - total % n) % n]


def new_reference() -> str:
    """A fresh reference like `K7XM-4QPA-Q` (40 bits of randomness)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return f"{body[:4]}-{body[4:]}-{_check_char(body)}"


def normalise_reference(text: str) -> str | None:
    """Canonical form of a reference typed by a person, or None if it isn't one."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(cleaned) != BODY_LENGTH + 1 or any(ch not in _INDEX for ch in cleaned):
        return None
    body, check = cleaned[:BODY_LENGTH], cleaned[BODY_LENGTH]
    if _check_char(body) != check:
        return None
    return f"{body[:4]}-{body[4:]}-{check}"

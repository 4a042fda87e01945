"""Staff sign-in rules: usernames, the password policy, argon2 hashing and the lockout delay.

Password policy (kept short on purpose, after NCSC and NIST SP 800-63B): 12 to 256
characters, at least two kinds of character (lower-case, upper-case, digits, anything else —
so a passphrase with spaces qualifies), and not containing the username. No forced rotation
and no composition puzzles beyond that; length is what counts.

Hashes are argon2id with argon2-cffi's default parameters. `verify_password` hands back a
fresh hash when the stored one was made with older parameters, so hashes upgrade at sign-in.
"""

from __future__ import annotations

import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 256
LOCK_AFTER = 5              # failures for one username before it is locked
FIRST_LOCK_SECONDS = 60     # then doubled on each further failure...
MAX_LOCK_SECONDS = 3600     # ...up to an hour

_hasher = PasswordHasher()
_dummy_hash: str | None = None  # verified against for unknown users, so timing says nothing
_USERNAME = re.compile(r"^[a-z0-9._-]{3,40}\Z")
_CLASSES = (str.islower, str.isupper, str.isdigit)
_WORDS = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or copied by hand


def normalise_username(text: str) -> str:
    """How a typed username is compared: trimmed and lower-case."""
    return text.strip().lower()


def check_username(text: str) -> str:
    """A valid username (3-40 of a-z, 0-9, '.', '_', '-'), lower-cased; else ValueError."""
    username = normalise_username(text)
    if not _USERNAME.match(username):
        raise ValueError(f"{text!r} is not a username; use 3-40 lower-case letters, digits "
                         "and '._-'")
    return username


def check_password(password: str, username: str = "") -> str:
    """The password if it meets the policy (module docstring); else ValueError saying why."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"use at least {MIN_LENGTH} characters (a few words make a good one)")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"use at most {MAX_LENGTH} characters")
    kinds = {next((i for i, test in enumerate(_CLASSES) if test(c)), 3) for c in password}
    if len(kinds) < 2:
        raise ValueError("mix at least two kinds of character (letters, capitals, digits, "
                         "spaces or symbols)")
    if username and normalise_username(username) in password.lower():
        raise ValueError("the password must not contain the username")
    return password


def generate_password(username: str = "") -> str:
    """A random password that meets the policy, like `k7qm-x2bd-9rhw-tnpe` (~79 bits)."""
    while True:
        password = "-".join("".join(secrets.choice(_WORDS) for _ in range(4))
                            for _ in range(4))
        if not username or normalise_username(username) not in password:
            return password


def hash_password(password: str) -> str:
    """An argon2id hash of the password (salted; safe to store)."""
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> tuple[bool, str | None]:
    """(matches, new hash to store or None). `stored=None` (no such user) still spends the
    time of a real check, so a wrong username cannot be told from a wrong password."""
    global _dummy_hash
    unknown = stored is None
    if stored is None:
        if _dummy_hash is None:
            _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
        stored = _dummy_hash
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False, None
    if unknown:  # cannot happen (the dummy's password is random), but never let it through
        return False, None
    return True, _hasher.hash(password) if _hasher.check_needs_rehash(stored) else None


def lockout_seconds(failures: int) -> int:
    """How long a username is locked after `failures` failures in a row (0: not locked)."""
    if failures < LOCK_AFTER:
        return 0
    return min(FIRST_LOCK_SECONDS * 2 ** min(failures - LOCK_AFTER, 12), MAX_LOCK_SECONDS)

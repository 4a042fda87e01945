"""Sealing of personal data at rest: JSON sealed with MultiFernet.

The first key seals; every key unseals, so keys rotate by putting a new key first,
re-sealing (`Sealer.reseal`), then dropping the old key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SealingError(Exception):
    """A sealed value could not be opened (wrong or retired key, or tampering)."""


class Sealer:
    """Seals and unseals JSON-able mappings; never logs or echoes their contents."""

    def __init__(self, keys: Iterable[str]) -> None:
        fernets = [Fernet(k.encode() if isinstance(k, str) else k) for k in keys]
        if not fernets:
            raise ValueError("at least one sealing key is needed")
        self._fernet = MultiFernet(fernets)

    def seal(self, data: Mapping[str, Any]) -> str:
        """Encrypt and authenticate a mapping; the token reveals nothing but its length."""
        plain = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
        return self._fernet.encrypt(plain).decode()

    def unseal(self, token: str | bytes) -> dict[str, Any]:
        """Open a sealed token with any current key."""
        raw = token.encode() if isinstance(token, str) else token
        try:
            plain = self._fernet.decrypt(raw)
        except InvalidToken:
            # Deliberately says nothing about the token: it may be all we have in a log.
            raise SealingError("sealed data could not be opened with the current keys") from None
        result: dict[str, Any] = json.loads(plain)
        return result

    def reseal(self, token: str | bytes) -> str:
        """Re-encrypt a token under the primary (first) key, for key rotation."""
        raw = token.encode() if isinstance(token, str) else token
        try:
            return self._fernet.rotate(raw).decode()
        except InvalidToken:
            raise SealingError("sealed data could not be opened with the current keys") from None


def new_key() -> str:
    """A fresh Fernet key, for LIAISON_SEALING_KEYS."""
    return Fernet.generate_key().decode()

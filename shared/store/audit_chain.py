"""The audit trail's tamper evidence (DPA 2018 s.62): every entry carries the hash of the
entry before it, so an altered, removed or inserted entry breaks the chain from there on.

`hash = HMAC-SHA256(key, prev_hash + "\\n" + canonical(entry))`, where canonical is the
entry's fields (without `prev` and `hash`) as sorted, compact JSON. The key is derived from
the service secret (`LIAISON_SECRET_KEY`), so someone who can only write to Redis (or read
a backup) cannot recompute a consistent chain; `kid` names the key an entry was chained
under. The newest hash is also kept in `audit:head`, so removing the newest entries shows
too; shipping entries to the force's log store (`liaison audit export`) anchors the chain
outside Redis. Pure functions; the store appends, `verify` checks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

GENESIS = "0" * 64
CHAIN_FIELDS = ("prev", "hash", "kid")


def chain_key(secret: str) -> bytes:
    """The chain's HMAC key, derived from the service secret with its own label."""
    return hmac.new(secret.encode(), b"liaison audit chain v1", hashlib.sha256).digest()


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"kid:" + key).hexdigest()[:8]


def canonical(entry: Mapping[str, str]) -> str:
    return json.dumps({k: v for k, v in entry.items() if k not in CHAIN_FIELDS},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(key: bytes, prev: str, entry: Mapping[str, str]) -> str:
    return hmac.new(key, f"{prev}\n{canonical(entry)}".encode(), hashlib.sha256).hexdigest()


def chained(key: bytes, prev: str, entry: Mapping[str, str]) -> dict[str, str]:
    """The entry with its place in the chain: `prev`, `hash` and `kid`."""
    out = {k: v for k, v in entry.items() if k not in CHAIN_FIELDS}
    return out | {"prev": prev, "hash": entry_hash(key, prev, out), "kid": key_id(key)}


@dataclass
class Verdict:
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    other_key: int = 0           # entries chained under another key (after a secret change)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(key: bytes, entries: Iterable[tuple[str, Mapping[str, str]]],
           head: str | None) -> Verdict:
    """Walk (stream id, fields) oldest first: every link and every hash must hold, and the
    last hash must be the recorded head."""
    verdict = Verdict()
    prev = GENESIS
    kid = key_id(key)
    for stream_id, fields in entries:
        verdict.checked += 1
        if "hash" not in fields:
            verdict.problems.append(f"{stream_id}: not chained (written outside the trail)")
            continue
        if fields.get("prev") != prev:
            verdict.problems.append(f"{stream_id}: does not follow the entry before it "
                                    "(an entry was removed or inserted)")
        if fields.get("kid") != kid:
            verdict.other_key += 1
        elif entry_hash(key, fields.get("prev", ""), fields) != fields["hash"]:
            verdict.problems.append(f"{stream_id}: altered (its hash does not match)")
        prev = fields["hash"]
    if (head or GENESIS) != prev:
        verdict.problems.append("the newest entries were removed (the recorded head is not "
                                "the last entry's hash)")
    return verdict

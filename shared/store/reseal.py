"""Re-sealing every sealed record under the first sealing key, so an old key can be retired.

What is sealed: a case's `sealed` field (`case:{id}` hash) and each note in its
`case:{id}:notes` list. The walk is a SCAN over `case:*` whose cursor is saved in Redis
after each batch (`reseal:cursor`): an interrupted run resumes where it stopped, and a
completed one removes the cursor, so the next starts afresh. Idempotent: a record that the
first key alone opens is skipped (Fernet tokens do not name their key); one that no key
opens is counted and named (by case id), never changed or dropped. Each record is changed
under a WATCH of its key: a case or note list written meanwhile is read again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

import redis
from cryptography.fernet import Fernet, InvalidToken

from shared.sealing import Sealer, SealingError
from shared.store.base import Keys, translate_errors

SCAN_COUNT = 500
RESEALED, SKIPPED, FAILED = "resealed", "skipped", "failed"


@dataclass
class ResealProgress:
    resealed: int = 0
    skipped: int = 0            # already sealed with the first key
    failed: list[str] = field(default_factory=list)   # case ids whose record no key opens
    complete: bool = False      # the walk reached its end (else resumable)

    @property
    def records(self) -> int:
        return self.resealed + self.skipped + len(self.failed)


class Resealer:
    def __init__(self, client: redis.Redis, keys: Keys, sealing_keys: Sequence[str]) -> None:
        if not sealing_keys:
            raise ValueError("at least one sealing key is needed")
        self._r = client
        self._keys = keys
        self._primary = Fernet(sealing_keys[0].encode())
        self._sealer = Sealer(sealing_keys)

    @property
    def cursor_key(self) -> str:
        return f"{self._keys.prefix}reseal:cursor"

    @translate_errors
    def saved_cursor(self) -> str | None:
        value: str | None = self._r.get(self.cursor_key)
        return value

    @translate_errors
    def run(self, *, limit: int | None = None, every: int = 1000,
            progress: Callable[[ResealProgress], None] | None = None) -> ResealProgress:
        """Walk on from the saved cursor (or the start) to the end, or until at least
        `limit` records were looked at (then the cursor is saved for the next run);
        `progress` is called about every `every` records."""
        done = ResealProgress()
        cursor = int(self.saved_cursor() or 0)
        prefix = self._keys.case("")
        reported = 0
        while True:
            cursor, found = self._r.scan(cursor, match=prefix + "*", count=SCAN_COUNT)
            cases = [k for k in found if ":" not in k[len(prefix):]]
            notes = [k for k in found if k.endswith(":notes")
                     and k[len(prefix):].count(":") == 1]
            self._cases(cases, done)
            for key in notes:
                self._notes(key, done)
            if cursor == 0:
                self._r.delete(self.cursor_key)
                done.complete = True
            else:
                self._r.set(self.cursor_key, str(cursor))
            if progress and done.records - reported >= every:
                reported = done.records
                progress(done)
            if done.complete or (limit is not None and done.records >= limit):
                return done

    def _state(self, token: str) -> tuple[str, str]:
        """(outcome, the new token when resealed)."""
        try:
            self._primary.decrypt(token.encode())
            return SKIPPED, token
        except InvalidToken:
            pass
        try:
            return RESEALED, self._sealer.reseal(token)
        except SealingError:
            return FAILED, ""

    def _cases(self, case_keys: list[str], done: ResealProgress) -> None:
        pipe = self._r.pipeline(transaction=False)
        for key in case_keys:
            pipe.hget(key, "sealed")
        for key, token in zip(case_keys, pipe.execute(), strict=True):
            if not token:
                continue  # erased, or never sealed
            outcome, _ = self._state(token)
            if outcome == RESEALED:
                outcome = self._reseal_case(key)
            self._count(done, outcome, key)

    def _reseal_case(self, key: str) -> str:
        """Re-seal one case's `sealed` field, under a WATCH of the case."""
        with self._r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    token = cast("str | None", pipe.hget(key, "sealed"))
                    if not token:
                        pipe.unwatch()
                        return SKIPPED
                    outcome, new = self._state(token)
                    if outcome != RESEALED:
                        pipe.unwatch()
                        return outcome
                    pipe.multi()
                    pipe.hset(key, "sealed", new)
                    pipe.execute()
                    return RESEALED
                except redis.WatchError:
                    continue

    def _notes(self, key: str, done: ResealProgress) -> None:
        """Re-seal every note of one case at once, under a WATCH of its list."""
        with self._r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = cast("list[str]", pipe.lrange(key, 0, -1))
                    outcomes: list[str] = []
                    changes: dict[int, str] = {}
                    for i, item in enumerate(raw):
                        entry = json.loads(item)
                        outcome, new = self._state(str(entry.get("sealed") or ""))
                        if outcome == RESEALED:
                            changes[i] = json.dumps(entry | {"sealed": new},
                                                    separators=(",", ":"))
                        outcomes.append(outcome)
                    if changes:
                        pipe.multi()
                        for i, item in changes.items():
                            pipe.lset(key, i, item)
                        pipe.execute()
                    else:
                        pipe.unwatch()
                    break
                except redis.WatchError:
                    continue
        for outcome in outcomes:
            self._count(done, outcome, key)

    def _count(self, done: ResealProgress, outcome: str, key: str) -> None:
        if outcome == RESEALED:
            done.resealed += 1
        elif outcome == SKIPPED:
            done.skipped += 1
        else:
            case_id = key[len(self._keys.case("")):].removesuffix(":notes")
            done.failed.append(case_id)

"""Console sign-in in Redis: logins on the staff hash, failure counters, server sessions.

A login is two fields on the existing `officer:{id}` hash (`username`, `password_hash`) and
an index `username:{name}` → id. `auth_epoch` goes up whenever a password is reset, a login
disabled or a role changed (`end_access`, which also revokes the API token); a session
remembers the epoch it began in, so older sessions end on their next request.
Failure counters are kept per typed username (hashed, known or not) for a day; an attempt is
counted before its password is checked, in one step with the lock check (login_attempt.lua).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import redis

from shared.domain.officers import Role
from shared.store.base import Keys, load_script, translate_errors

FAILURES_TTL = 24 * 3600


class AccountError(Exception):
    """A login cannot be created or changed; the message says why."""


@dataclass(frozen=True)
class Account:
    id: str
    username: str
    name: str
    role: Role
    password_hash: str
    disabled: bool
    epoch: int

    @classmethod
    def from_fields(cls, data: dict[str, str]) -> Account | None:
        if not data.get("username") or not data.get("password_hash"):
            return None
        return cls(id=data["id"], username=data["username"], name=data.get("name", ""),
                   role=Role(data.get("role", "officer")), password_hash=data["password_hash"],
                   disabled=data.get("login_disabled") == "1",
                   epoch=int(data.get("auth_epoch") or 0))


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt as `begin_attempt` counted it."""

    may_check: bool      # False: the username is locked; do not check the password
    lock_seconds: float  # locked: seconds left; else the lock this attempt set (0: none)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def username_digest(username: str) -> str:
    """A (normalised) typed username as the login failure counter keys it."""
    return _digest(username)


class AccountRepository:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys
        self.sessions = SessionRepository(client, keys)
        self._attempt = load_script(client, "login_attempt", keys)

    @translate_errors
    def create(self, officer_id: str, username: str, password_hash: str) -> Account:
        """Give a staff member a login; AccountError if they have one or the name is taken."""
        k = self._keys
        with self._r.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(k.username(username), k.officer(officer_id))
                staff = cast("dict[str, str]", pipe.hgetall(k.officer(officer_id)))
                if not staff:
                    raise AccountError(f"no staff member with id {officer_id!r}")
                if staff.get("username"):
                    raise AccountError(f"{officer_id} already signs in as "
                                       f"{staff['username']!r}; reset their password instead")
                if self._holder(pipe, username):
                    raise AccountError(f"the username {username!r} is taken")
                pipe.multi()
                pipe.set(k.username(username), officer_id)
                pipe.hset(k.officer(officer_id), mapping={
                    "username": username, "password_hash": password_hash,
                    "login_disabled": "0", "auth_epoch": staff.get("auth_epoch") or "0"})
                pipe.execute()
            except redis.WatchError:
                raise AccountError("changed by someone else meanwhile; try again") from None
        account = self.by_username(username)
        assert account is not None
        return account

    def _holder(self, client: redis.Redis | redis.client.Pipeline, username: str) -> str | None:
        """The id holding a username (an index left by a removed officer does not count)."""
        officer_id = client.get(self._keys.username(username))
        if officer_id and client.hget(self._keys.officer(str(officer_id)),
                                      "username") == username:
            return str(officer_id)
        return None

    @translate_errors
    def by_username(self, username: str) -> Account | None:
        officer_id = self._holder(self._r, username)
        return self.for_id(officer_id) if officer_id else None

    @translate_errors
    def for_id(self, officer_id: str) -> Account | None:
        """The login of a staff member (None: removed, or never given one)."""
        return Account.from_fields(cast("dict[str, str]",
                                        self._r.hgetall(self._keys.officer(officer_id))))

    @translate_errors
    def all(self) -> list[Account]:
        """Every login, by username."""
        ids = sorted(self._r.smembers(self._keys.officers))
        pipe = self._r.pipeline(transaction=False)
        for officer_id in ids:
            pipe.hgetall(self._keys.officer(officer_id))
        found = (Account.from_fields(data) for data in pipe.execute() if data)
        return sorted((a for a in found if a), key=lambda a: a.username)

    @translate_errors
    def set_password(self, username: str, password_hash: str, *, sign_out: bool = True) -> None:
        """Store a new hash; `sign_out` ends every session (not wanted for a silent rehash)."""
        officer_id = self._existing(username)
        pipe = self._r.pipeline(transaction=True)
        pipe.hset(self._keys.officer(officer_id), "password_hash", password_hash)
        if sign_out:
            pipe.hincrby(self._keys.officer(officer_id), "auth_epoch", 1)
            pipe.delete(self._keys.login_failures(_digest(username)))
        pipe.execute()

    @translate_errors
    def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable (ending every session and revoking the API token) or enable a login."""
        officer_id = self._existing(username)
        if disabled:
            self._end_access(officer_id, login_disabled="1")
        else:
            self._r.hset(self._keys.officer(officer_id), "login_disabled", "0")

    @translate_errors
    def end_access(self, officer_id: str) -> bool:
        """End every console session of a staff member and revoke their API token, at once
        (a role change: they sign in again, and are issued a new token, to use the new role).
        False when there is no such staff member."""
        return self._end_access(officer_id)

    def _end_access(self, officer_id: str, **fields: str) -> bool:
        """Bump `auth_epoch` (sessions of older epochs end), delete the token the officer hash
        names and set `fields`, in one transaction; never creates a hash that is not there."""
        k = self._keys
        key = k.officer(officer_id)

        def change(pipe: redis.client.Pipeline) -> bool:
            if not pipe.exists(key):
                return False
            digest = pipe.hget(key, "token_digest")
            pipe.multi()
            pipe.hincrby(key, "auth_epoch", 1)
            if digest:
                pipe.delete(k.token(str(digest)))
                pipe.hdel(key, "token_digest")
            for name, value in fields.items():
                pipe.hset(key, name, value)
            return True

        return self._watching(key, change)

    def _watching(self, key: str, change: Callable[[redis.client.Pipeline], bool]) -> bool:
        while True:
            with self._r.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(key)
                    done = change(pipe)
                    if done:
                        pipe.execute()
                    return done
                except redis.WatchError:
                    continue

    def _existing(self, username: str) -> str:
        officer_id = self._holder(self._r, username)
        if officer_id is None:
            raise AccountError(f"no login {username!r}")
        return officer_id

    # failures and locks, per typed username
    @translate_errors
    def locked_until(self, username: str) -> float:
        until = self._r.hget(self._keys.login_failures(_digest(username)), "until")
        return float(until or 0)

    @translate_errors
    def begin_attempt(self, username: str, now: float, locks: list[int]) -> Attempt:
        """Count a sign-in attempt as a failure before its password is checked, or refuse it
        while the username is locked — one atomic step, so attempts made at the same moment
        cannot all pass the lock check. `locks[n - 1]`: seconds to lock after n failures in
        a row (the last repeats). A success must `clear_failures`; the count is forgotten a
        day after the last attempt."""
        raw = self._attempt(digest=_digest(username), now=now, keep=FAILURES_TTL, locks=locks)
        if raw[0] == "locked":
            return Attempt(may_check=False, lock_seconds=float(raw[1]))
        return Attempt(may_check=True, lock_seconds=float(raw[2]))

    @translate_errors
    def lock(self, username: str, until: float) -> None:
        self._r.hset(self._keys.login_failures(_digest(username)), "until", repr(until))

    @translate_errors
    def clear_failures(self, username: str) -> None:
        self._r.delete(self._keys.login_failures(_digest(username)))


class SessionRepository:
    """Console sessions as opaque strings under the hash of their id, with a TTL."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys

    @translate_errors
    def get(self, sid: str) -> str | None:
        value: str | None = self._r.get(self._keys.session(_digest(sid)))
        return value

    @translate_errors
    def put(self, sid: str, value: str, ttl: int, *, replacing: tuple[str, ...] = ()) -> None:
        """Write a session (and delete the ones it replaces, in the same transaction)."""
        pipe = self._r.pipeline(transaction=True)
        for old in replacing:
            pipe.delete(self._keys.session(_digest(old)))
        pipe.set(self._keys.session(_digest(sid)), value, ex=max(1, ttl))
        pipe.execute()

    @translate_errors
    def delete(self, *sids: str) -> None:
        if sids:
            self._r.delete(*(self._keys.session(_digest(sid)) for sid in sids))

"""Backups of the Redis that is the system of record: a consistent RDB snapshot, its
manifest, and a check that a snapshot loads and holds readable cases.

Two ways to take the snapshot, both point-in-time and consistent (an RDB is written by a
fork of Redis, so it is the whole dataset at one instant):

* over the network (the default; any machine that reaches Redis, Sentinel included): the
  `SYNC` that a replica sends, as `redis-cli --rdb FILE` does. Redis forks, writes an RDB
  and streams it; we keep the RDB and hang up before the replication stream.
* on the Redis machine (`from_dir`): `BGSAVE`, wait for it to finish (`LASTSAVE` moves on,
  `INFO persistence` says `rdb_bgsave_in_progress:0` and `rdb_last_bgsave_status:ok`), then
  copy `dump.rdb` out of the data directory.

The AOF is not copied: the RDB alone is the complete dataset, and a restore rebuilds the AOF
from it (README, "Backups and restore").

A backup directory holds `dump.rdb` and `manifest.json` (when, how, from where — never a
password — the key count at the time, the size and the SHA-256 of the RDB). The directory
must not exist or be empty: a backup never overwrites another.

`verify` loads a snapshot into a throwaway `redis-server` (no AOF, loopback, a free port,
a temporary directory) and counts its keys and cases by state, and how many cases' sealed
data the current keys open.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from ops.devredis import die_with_parent, free_port, redis_server_binary
from shared.sealing import Sealer, SealingError

RDB_NAME = "dump.rdb"
MANIFEST_NAME = "manifest.json"
BGSAVE_TIMEOUT = 600.0
SYNC_TIMEOUT = 60.0  # seconds without a byte from Redis (it sends "\n" while it forks)


class BackupError(Exception):
    """A backup that could not be taken or checked; the message says why."""


@dataclass
class Manifest:
    created_at: str
    method: str
    source: str
    keys: int
    bytes: int
    sha256: str
    redis_version: str = ""
    aof: str = "not copied: the RDB is the complete dataset; a restore rebuilds the AOF"

    def write(self, directory: Path) -> None:
        (directory / MANIFEST_NAME).write_text(json.dumps(vars(self), indent=2) + "\n")

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        try:
            data = json.loads((directory / MANIFEST_NAME).read_text())
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise BackupError(f"{directory / MANIFEST_NAME}: no readable manifest ({exc})") \
                from None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fresh_directory(directory: Path) -> None:
    """Create `directory` (0700) or accept an empty one; refuse anything else."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise BackupError(f"{directory} already exists and is not empty: a backup never "
                          "overwrites another (choose a new directory)")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)


def dump_rdb(client: redis.Redis, target: Path) -> None:
    """The RDB over the network, as a replica's full sync (`SYNC`) receives it."""
    pool = client.connection_pool
    conn = pool.make_connection()  # our own: it is never handed back to the pool
    try:
        conn.connect()
        sock = conn._sock  # noqa: SLF001  (raw bytes after AUTH/SELECT, as redis-cli does)
        if sock is None:
            raise BackupError("no connection to Redis")
        sock.settimeout(SYNC_TIMEOUT)
        sock.sendall(b"SYNC\r\n")
        buffer = b""
        while b"\r\n" not in buffer.lstrip(b"\n"):  # "\n" keep-alives while Redis forks
            chunk = sock.recv(4096)
            if not chunk:
                raise BackupError("Redis closed the connection before sending the snapshot")
            buffer += chunk
        header, _, rest = buffer.lstrip(b"\n").partition(b"\r\n")
        if header.startswith(b"-"):
            raise BackupError(f"Redis refused SYNC: {header[1:].decode(errors='replace')}")
        if not header.startswith(b"$") or header.startswith(b"$EOF:"):
            raise BackupError(f"unexpected reply to SYNC: {header[:40]!r}")
        remaining = int(header[1:])
        with target.open("wb") as out:
            out.write(rest[:remaining])
            remaining -= len(rest[:remaining])
            while remaining > 0:
                chunk = sock.recv(min(remaining, 1 << 20))
                if not chunk:
                    raise BackupError("the snapshot was cut off")
                out.write(chunk)
                remaining -= len(chunk)
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        raise BackupError(f"reading the snapshot from Redis failed: {exc}") from None
    finally:
        conn.disconnect()


def bgsave_copy(client: redis.Redis, data_dir: Path, target: Path,
                timeout: float = BGSAVE_TIMEOUT) -> None:
    """BGSAVE, wait until it has finished, copy the RDB out of Redis's data directory."""
    def persistence() -> dict[str, Any]:
        return dict(client.info("persistence"))

    deadline = time.monotonic() + timeout
    while persistence().get("rdb_bgsave_in_progress"):  # someone else's save: let it end
        _wait(deadline, "a background save already in progress")
    before = _lastsave(client)
    if int(client.time()[0]) <= before:  # LASTSAVE has a one-second grain
        time.sleep(1.1)
    client.bgsave()
    while True:
        info = persistence()
        if _lastsave(client) > before and not info.get("rdb_bgsave_in_progress"):
            break
        _wait(deadline, "BGSAVE to finish")
    if info.get("rdb_last_bgsave_status", "ok") != "ok":
        raise BackupError("BGSAVE failed (INFO persistence rdb_last_bgsave_status); see the "
                          "Redis log")
    try:
        name = str(client.config_get("dbfilename").get("dbfilename") or RDB_NAME)
    except redis.ResponseError:  # CONFIG renamed away: the default name
        name = RDB_NAME
    source = data_dir / name
    if not source.is_file():
        raise BackupError(f"{source}: no RDB there; is {data_dir} this Redis's data "
                          "directory (`CONFIG GET dir`)?")
    shutil.copyfile(source, target)


def _lastsave(client: redis.Redis) -> int:
    saved = client.lastsave()
    return int(saved.timestamp()) if isinstance(saved, datetime) else int(saved)


def _wait(deadline: float, what: str) -> None:
    if time.monotonic() > deadline:
        raise BackupError(f"timed out waiting for {what}")
    time.sleep(0.2)


def create(client: redis.Redis, directory: Path, *, source: str, from_dir: Path | None = None,
           now: datetime | None = None) -> Manifest:
    """Take a snapshot into `directory` (new or empty) and write its manifest."""
    fresh_directory(directory)
    target = directory / RDB_NAME
    partial = directory / (RDB_NAME + ".partial")
    try:
        if from_dir is None:
            dump_rdb(client, partial)
        else:
            bgsave_copy(client, from_dir, partial)
        partial.chmod(0o600)
        partial.rename(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    try:
        server = dict(client.info("server"))
    except redis.ResponseError:  # INFO renamed away
        server = {}
    manifest = Manifest(
        created_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
        method="sync" if from_dir is None else "bgsave+copy", source=source,
        keys=int(client.dbsize()), bytes=target.stat().st_size, sha256=sha256(target),
        redis_version=str(server.get("redis_version", "")))
    manifest.write(directory)
    return manifest


@dataclass
class Verified:
    keys: int
    cases: Counter[str] = field(default_factory=Counter)
    unsealed: int = 0
    unreadable: list[str] = field(default_factory=list)

    @property
    def total_cases(self) -> int:
        return sum(self.cases.values())


@contextmanager
def loaded(rdb: Path, *, server: str | None = None, timeout: float = 60.0
           ) -> Iterator[redis.Redis]:
    """A throwaway redis-server (no AOF, no saving, loopback) that has loaded `rdb`."""
    with tempfile.TemporaryDirectory(prefix="liaison-verify-") as work:
        shutil.copyfile(rdb, Path(work) / RDB_NAME)
        port = free_port()
        proc = subprocess.Popen(
            [server or redis_server_binary(), "--bind", "127.0.0.1", "--port", str(port),
             "--dir", work, "--dbfilename", RDB_NAME, "--appendonly", "no", "--save", "",
             "--logfile", str(Path(work) / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=die_with_parent)
        client = redis.Redis(port=port, decode_responses=True, socket_connect_timeout=0.5)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    log = (Path(work) / "redis.log").read_text(errors="replace")[-1500:]
                    raise BackupError(f"redis-server could not load the snapshot:\n{log}")
                try:
                    client.ping()
                    break
                except (redis.ConnectionError, redis.BusyLoadingError):
                    if time.monotonic() > deadline:
                        raise BackupError("the snapshot did not load in time") from None
                    time.sleep(0.05)
            yield client
        finally:
            client.close()
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def verify(directory: Path, *, prefix: str, sealing_keys: tuple[str, ...],
           server: str | None = None) -> tuple[Manifest, Verified]:
    """The manifest's checksum holds, the RDB loads, and its cases can be read."""
    manifest = Manifest.read(directory)
    rdb = directory / RDB_NAME
    if not rdb.is_file():
        raise BackupError(f"{rdb}: missing")
    if sha256(rdb) != manifest.sha256:
        raise BackupError(f"{rdb}: its SHA-256 is not the manifest's: the file changed or is "
                          "damaged")
    sealer = Sealer(sealing_keys) if sealing_keys else None
    with loaded(rdb, server=server) as client:
        result = Verified(keys=int(client.dbsize()))
        for key in client.scan_iter(match=f"{prefix}case:*", count=1000):
            case_id = key[len(prefix) + len("case:"):]
            if ":" in case_id or client.type(key) != "hash":
                continue  # a case's log, notes or exclusions
            fields = client.hmget(key, "state", "sealed")
            result.cases[fields[0] or "?"] += 1
            if fields[1] and sealer is not None:
                try:
                    sealer.unseal(fields[1])
                    result.unsealed += 1
                except SealingError:  # sealed with a key no longer configured
                    result.unreadable.append(case_id)
    return manifest, result

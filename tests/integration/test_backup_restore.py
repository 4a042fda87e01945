"""The restore drill: cases in flight on a real redis-server, `liaison backup create`, the
documented restore into a fresh redis-server, and the system picks up where it was.

In flight when the backup is taken: two new cases (in the outbox: announced, not yet
routed), one offered to an officer, one accepted. After the restore every case is there
and its sealed account opens with the force's keys; a case written after the backup is
not (a snapshot is one instant); and the sweeper, run against the restored Redis,
re-announces the outbox cases and expires the offer that ran out while Redis was down,
leaving the accepted case alone.

The restore follows README's "Backups and restore" step by step: the RDB into an empty
data directory, redis-server started once WITHOUT AOF (so it loads the RDB),
`CONFIG SET appendonly yes` (Redis writes a fresh AOF from the dataset), stop, then start
as always (AOF on).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from ops import backup as backups
from ops.cli import Runtime, main
from ops.devredis import EmbeddedRedis, free_port, redis_server_binary
from services.router.sweeper import sweep
from shared import casework
from shared.bootstrap import bootstrap
from shared.config import Settings
from shared.domain import events
from shared.geography import load_force
from shared.sealing import Sealer
from shared.store import Store, redis_client
from tests.fakes import FakePublisher
from tests.support.cases import CANARY, add_staff, create_case, routed_case

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def field(store: Store, case_id: str, name: str) -> str:
    case = store.cases.get(case_id)
    assert case is not None, case_id
    return case[name]


def restore(rdb: Path, data_dir: Path) -> EmbeddedRedis:
    """README's restore, on this machine: returns the restored server, running with AOF."""
    data_dir.mkdir(mode=0o700)
    shutil.copyfile(rdb, data_dir / "dump.rdb")
    port = free_port()
    once = subprocess.Popen(
        [redis_server_binary(), "--bind", "127.0.0.1", "--port", str(port), "--dir",
         str(data_dir), "--dbfilename", "dump.rdb", "--appendonly", "no", "--save", "",
         "--appendfilename", "appendonly.aof"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    client = redis.Redis(port=port, decode_responses=True, socket_connect_timeout=0.5)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except (redis.ConnectionError, redis.BusyLoadingError):
                assert once.poll() is None and time.monotonic() < deadline, "did not load"
                time.sleep(0.05)
        client.config_set("appendonly", "yes")  # writes a fresh AOF from what it loaded
        while True:
            info = client.info("persistence")
            if info["aof_enabled"] and not info["aof_rewrite_in_progress"] \
                    and not info["aof_rewrite_scheduled"]:
                break
            assert time.monotonic() < deadline, info
            time.sleep(0.05)
    finally:
        client.close()
        once.terminate()
        once.wait(10)
    return EmbeddedRedis(data_dir).start()  # as always: AOF on, loads the new AOF


def test_restore_drill(store: Store, real_settings: Settings, redis_server: EmbeddedRedis,
                       tmp_path: Path) -> None:
    now = time.time()
    settings = real_settings
    add_staff(store, "ash", "watford", capacity=3)
    outbox = [create_case(store, settings, "watford", now=now) for _ in range(2)]
    offered, _ = routed_case(store, settings, "watford", now=now)
    accepted, _ = routed_case(store, settings, "watford", now=now)
    publisher = FakePublisher()
    live = bootstrap(settings, store=store, publisher=publisher, force=load_force(),
                     clock=lambda: now, channels={})
    casework.accept(live, accepted, "ash")
    states = {cid: field(store, cid, "state") for cid in [*outbox, offered, accepted]}
    assert states == {outbox[0]: "received", outbox[1]: "received", offered: "offered",
                      accepted: "accepted"}

    # Both ways of taking it: over the network (SYNC) and BGSAVE + copy on the Redis machine.
    runtime = Runtime(settings=settings, store=store)
    taken = tmp_path / "backup"
    result = CliRunner().invoke(main, ["backup", "create", "--to", str(taken)], obj=runtime)
    assert result.exit_code == 0, result.output
    copied = tmp_path / "backup-copied"
    result = CliRunner().invoke(main, ["backup", "create", "--to", str(copied), "--from-dir",
                                       str(redis_server.data_dir)], obj=runtime)
    assert result.exit_code == 0, result.output
    manifest = backups.Manifest.read(taken)
    assert manifest.method == "sync" and manifest.keys > 0
    assert backups.Manifest.read(copied).method == "bgsave+copy"
    audit = [f for _, f in store.redis.xrange(store.keys.audit)]
    assert [f["type"] for f in audit].count(events.BACKUP_CREATED) == 2
    # ... and it never overwrites a backup.
    result = CliRunner().invoke(main, ["backup", "create", "--to", str(taken)], obj=runtime)
    assert result.exit_code != 0 and "not empty" in result.output
    assert backups.Manifest.read(taken) == manifest

    later = create_case(store, settings, "watford", now=now)  # after the snapshot

    # verify: loads each into a throwaway redis-server and counts the cases by state.
    for directory in (taken, copied):
        result = CliRunner().invoke(main, ["backup", "verify", str(directory)], obj=runtime)
        assert result.exit_code == 0, result.output
        keys = backups.Manifest.read(directory).keys
        assert f"loads: {keys} keys (the manifest says {keys})" in result.output
        assert "4 cases; sealed data opened for 4" in result.output
        assert "  received: 2" in result.output and "  offered: 1" in result.output
        assert "  accepted: 1" in result.output
    # A damaged file is caught by its checksum, before anything is loaded.
    damaged = tmp_path / "damaged"
    shutil.copytree(taken, damaged)
    with (damaged / "dump.rdb").open("r+b") as f:
        f.seek(20)
        f.write(b"\x00\x01")
    result = CliRunner().invoke(main, ["backup", "verify", str(damaged)], obj=runtime)
    assert result.exit_code != 0 and "SHA-256" in result.output
    # Keys lost since: verify says the backup cannot be read with the current keys.
    rekeyed = Runtime(settings=Settings.for_tests(redis_url=settings.redis_url), store=store)
    result = CliRunner().invoke(main, ["backup", "verify", str(taken)], obj=rekeyed)
    assert result.exit_code == 1 and "sealed with a key that is not in" in result.output

    # The restore, into a fresh redis-server (the live one is left alone).
    server = restore(taken / "dump.rdb", tmp_path / "restored-redis")
    restored = Store(redis_client(server.url), prefix=settings.key_prefix)
    try:
        sealer = Sealer(settings.sealing_keys)
        for case_id, state in states.items():
            case = restored.cases.get(case_id)
            assert case is not None and case["state"] == state, (case_id, case)
            opened = sealer.unseal(case["sealed"])
            assert CANARY in str(opened["submission"])
        assert restored.cases.get(later) is None  # written after the snapshot
        assert restored.officers.get("ash") is not None

        # The sweeper on the restored Redis, some minutes on: the outbox cases announced
        # again, the lapsed offer expired, the accepted case untouched.
        publisher = FakePublisher()
        after = now + settings.offer_timeout(int(field(restored, offered, "priority"))) + 60
        deps = bootstrap(settings, store=restored, publisher=publisher, force=load_force(),
                         clock=lambda: after, channels={})
        report = sweep(deps)
        assert set(outbox) <= set(report.republished_cases)
        # (the expired offer goes back to routing too: it is announced with them)
        assert set(report.republished_cases) - set(outbox) <= {offered}
        assert {("router.assign_case", cid) for cid in outbox} <= set(publisher.sent)
        assert offered in report.expired
        assert field(restored, offered, "state") != "offered"
        assert field(restored, accepted, "state") == "accepted"
        assert accepted not in report.expired + report.republished_cases

        # The restored server keeps it: restarted (AOF on), the cases are still there.
        server.stop()
        server.start()
        assert restored.cases.get(outbox[0]) is not None
    finally:
        restored.redis.close()
        server.stop()

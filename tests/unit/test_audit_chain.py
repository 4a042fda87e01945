"""The audit trail is append-only and hash-chained: `liaison audit verify` finds an altered,
removed or inserted entry, and removed newest ones; `liaison audit export` ships JSON lines."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import fakeredis
import pytest
from click.testing import CliRunner, Result

from ops.cli import Runtime, main
from shared.config import Settings
from shared.store import Store
from shared.store.audit_chain import GENESIS, chain_key, key_id

KEY = chain_key("a-service-secret-for-the-tests-0123456789")
Invoke = Callable[..., Result]


@pytest.fixture
def store() -> Store:
    return Store(fakeredis.FakeRedis(decode_responses=True), prefix="t:", audit_key=KEY)


@pytest.fixture
def cli(store: Store, settings: Settings) -> Invoke:
    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), obj=Runtime(settings=settings, store=store))
    return invoke


def fill(store: Store, n: int = 5) -> list[str]:
    for i in range(n):
        store.audit.record_view(f"{i:032x}", by="alex", now=1_790_000_000.0 + i)
    return [stream_id for stream_id, _ in store.redis.xrange(store.keys.audit)]


def rewrite(store: Store, change: Callable[[list[tuple[str, dict[str, str]]]], None]) -> None:
    """Someone with write access to Redis edits the stream (the trail itself never does)."""
    entries = store.redis.xrange(store.keys.audit)
    change(entries)
    store.redis.delete(store.keys.audit)
    for _, fields in entries:
        store.redis.xadd(store.keys.audit, fields)


def test_every_entry_names_the_one_before_it(store: Store) -> None:
    fill(store)
    entries = [fields for _, fields in store.redis.xrange(store.keys.audit)]
    assert entries[0]["prev"] == GENESIS
    assert [e["prev"] for e in entries[1:]] == [e["hash"] for e in entries[:-1]]
    assert store.redis.get(store.keys.audit_head) == entries[-1]["hash"]
    assert store.audit.verify().ok


def test_an_altered_entry_is_found(store: Store) -> None:
    fill(store)
    rewrite(store, lambda entries: entries[2][1].update(by="someone-else"))
    verdict = store.audit.verify()
    assert not verdict.ok and any("altered" in p for p in verdict.problems)


def test_a_removed_entry_is_found(store: Store) -> None:
    ids = fill(store)
    store.redis.xdel(store.keys.audit, ids[2])
    verdict = store.audit.verify()
    assert any("removed or inserted" in p for p in verdict.problems)


def test_an_inserted_entry_is_found(store: Store) -> None:
    fill(store)
    store.redis.xadd(store.keys.audit, {"type": "CaseViewed", "by": "ghost", "case_id": "x"})
    verdict = store.audit.verify()
    assert any("not chained" in p for p in verdict.problems)


def test_removing_the_newest_entries_is_found(store: Store) -> None:
    ids = fill(store)
    store.redis.xdel(store.keys.audit, ids[-1])
    verdict = store.audit.verify()
    assert any("newest entries were removed" in p for p in verdict.problems)


def test_a_chain_recomputed_without_the_secret_does_not_verify(
        store: Store, cli: Invoke) -> None:
    """Someone who can write to Redis but lacks the service secret cannot forge a chain that
    verifies: under their own key it is flagged; under ours (claiming our key id) every
    hash fails."""
    fill(store, 3)
    store.redis.delete(store.keys.audit, store.keys.audit_head)
    fill(Store(store.redis, prefix="t:", audit_key=chain_key("guessed")), 3)
    result = cli("audit", "verify")
    assert result.exit_code == 1 and "chained under another secret" in result.stderr
    assert store.audit.verify().other_key == 3

    def claim_our_key_id(entries: list[tuple[str, dict[str, str]]]) -> None:
        for _, fields in entries:
            fields["kid"] = key_id(KEY)

    rewrite(store, claim_our_key_id)
    assert sum("altered" in p for p in store.audit.verify().problems) == 3


def test_concurrent_writers_keep_one_chain(store: Store) -> None:
    def write(who: str) -> None:
        for i in range(25):
            store.audit.record_refused(f"{i:032x}", by=who, action="read", reason="not_yours",
                                       now=1_790_000_000.0)

    threads = [threading.Thread(target=write, args=(f"w{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    verdict = store.audit.verify()
    assert verdict.ok and verdict.checked == 100


def test_the_verify_command_passes_then_fails_loudly(store: Store, cli: Invoke) -> None:
    ids = fill(store)
    ok = cli("audit", "verify")
    assert ok.exit_code == 0 and "intact: 5 entries" in ok.stdout
    store.redis.xdel(store.keys.audit, ids[1])
    broken = cli("audit", "verify")
    assert broken.exit_code == 1 and "BROKEN" in broken.stderr


def test_entries_from_before_a_secret_rotation_pass_only_when_allowed(
        store: Store, cli: Invoke) -> None:
    fill(Store(store.redis, prefix="t:", audit_key=chain_key("an earlier secret")), 2)
    assert cli("audit", "verify").exit_code == 1
    allowed = cli("audit", "verify", "--allow-earlier-secrets")
    assert allowed.exit_code == 0 and "2 chained under an earlier secret" in allowed.stdout


def test_export_writes_json_lines_from_a_date(store: Store, cli: Invoke) -> None:
    fill(store, 3)
    everything = cli("audit", "export")
    lines = [json.loads(line) for line in everything.stdout.splitlines()]
    assert [line["by"] for line in lines] == ["alex"] * 3
    assert all({"id", "type", "case_id", "at", "prev", "hash", "kid"} <= set(line)
               for line in lines)
    assert cli("audit", "export", "--since", "2099-01-01").stdout == ""
    bad = cli("audit", "export", "--since", "yesterday")
    assert bad.exit_code == 2 and "--since" in bad.stderr

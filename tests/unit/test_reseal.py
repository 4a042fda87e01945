"""`liaison keys reseal`: every sealed record (case submissions, notes) re-sealed under the
first key, resumable and idempotent, so the old key can be dropped; records no key opens
are reported, never dropped."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import fakeredis
import pytest
import redis
from click.testing import CliRunner
from cryptography.fernet import Fernet

from ops.cli import Runtime, main
from shared.config import Settings
from shared.domain import events
from shared.sealing import Sealer, SealingError
from shared.store import Store
from shared.store.reseal import Resealer
from tests.conftest import CANARY

KEY_A, KEY_B, KEY_C = (Fernet.generate_key().decode() for _ in range(3))
CASES, NOTED, NOTES_EACH = 8000, 1000, 2   # 8,000 submissions + 2,000 notes = 10,000 records
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def fill(store: Store, *, cases: int = CASES, noted: int = NOTED, key: str = KEY_A) -> list[str]:
    """Cases sealed (with their notes) under `key` alone, as intake and the console seal."""
    sealer = Sealer([key])
    k = store.keys
    ids = [f"{i:032x}" for i in range(cases)]
    pipe = store.redis.pipeline(transaction=False)
    for n, case_id in enumerate(ids):
        pipe.hset(k.case(case_id), mapping={
            "id": case_id, "kind": "report", "state": "closed", "priority": "3",
            "sealed": sealer.seal({"kind": "report", "submission": {"what": CANARY, "n": n}})})
        pipe.xadd(k.case_log(case_id), {"type": events.CASE_RECEIVED, "case_id": case_id})
        if n < noted:
            for j in range(NOTES_EACH):
                pipe.rpush(k.case_notes(case_id), json.dumps(
                    {"id": f"{n}-{j}", "kind": "note", "by": "sam", "at": "1.0",
                     "sealed": sealer.seal({"text": f"note {j} {CANARY}"})},
                    separators=(",", ":")))
        if n % 1000 == 999:
            pipe.execute()
    pipe.execute()
    return ids


def opens_everything(store: Store, ids: list[str], keys: list[str]) -> int:
    """How many records `keys` open (raises SealingError on the first that they do not)."""
    sealer = Sealer(keys)
    opened = 0
    for case_id in ids:
        assert CANARY in str(sealer.unseal(store.cases.get(case_id)["sealed"]))
        opened += 1
        for note in store.notes.list(case_id):
            assert CANARY in sealer.unseal(note["sealed"])["text"]
            opened += 1
    return opened


def reseal(store: Store, keys: tuple[str, ...], *args: str) -> tuple[int, str]:
    settings = Settings.for_tests(sealing_keys=keys)
    runtime = Runtime(settings=settings, store=store, clock=lambda: NOW)
    result = CliRunner().invoke(main, ["keys", "reseal", *args], obj=runtime)
    return result.exit_code, result.output


@pytest.fixture(params=["fakeredis", "redis"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "fakeredis":
        return Store(fakeredis.FakeRedis(decode_responses=True), prefix="test:")
    url = request.getfixturevalue("redis_url")
    return Store(redis.Redis.from_url(url, decode_responses=True), prefix="test:")


def test_ten_thousand_records_resealed_in_two_runs_then_key_b_alone_opens_them(
        store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    ids = fill(store)
    with pytest.raises(SealingError):
        opens_everything(store, ids[:1], [KEY_B])

    started = time.monotonic()
    code, out = reseal(store, (KEY_B, KEY_A), "--limit", "5000", "--every", "2500")
    assert code == 0, out
    assert "stopped early" in out and "0 failed" in out
    assert "records:" in out  # progress lines
    half = Resealer(store.redis, store.keys, [KEY_B, KEY_A])
    assert half.saved_cursor() is not None

    code, out = reseal(store, (KEY_B, KEY_A))
    elapsed = time.monotonic() - started
    assert code == 0, out
    assert "resuming" in out and "complete: every sealed record" in out
    assert half.saved_cursor() is None

    assert opens_everything(store, ids, [KEY_B]) == 10_000
    # figures for the README (pytest -s shows them)
    with capsys.disabled():
        print(f"\nreseal of 10,000 records ({type(store.redis).__module__}): "
              f"{elapsed:.2f} s, {10_000 / elapsed:.0f} records/s")

    code, out = reseal(store, (KEY_B, KEY_A))
    assert code == 0 and "0 re-sealed, 10000 already current, 0 failed" in out
    audit = [f for _, f in store.redis.xrange(store.keys.audit)
             if f["type"] == events.RECORDS_RESEALED]
    assert [(a["resealed"], a["complete"]) for a in audit][-1] == ("0", "1")
    assert sum(int(a["resealed"]) for a in audit) == 10_000
    assert sum(int(a["failed"]) for a in audit) == 0


def test_a_record_no_key_opens_is_reported_and_kept(fake_store: Store) -> None:
    ids = fill(fake_store, cases=20, noted=2)
    lost = fill(fake_store, cases=1, noted=1, key=KEY_C)  # id 0 again: overwrite it
    before = fake_store.cases.get(lost[0])["sealed"]
    code, out = reseal(fake_store, (KEY_B, KEY_A))
    assert code == 1
    assert "3 failed" in out  # the submission and its two notes
    assert lost[0] in out
    assert fake_store.cases.get(lost[0])["sealed"] == before
    assert len(fake_store.notes.list(lost[0])) == 4  # two under A, two under C: none dropped
    assert opens_everything(fake_store, ids[1:], [KEY_B]) == 19 + 2


def test_an_erased_case_and_a_single_key_are_nothing_to_do(fake_store: Store) -> None:
    ids = fill(fake_store, cases=5, noted=1)
    fake_store.redis.hdel(fake_store.keys.case(ids[4]), "sealed")
    code, out = reseal(fake_store, (KEY_A,))
    assert code == 0 and "0 re-sealed, 6 already current, 0 failed" in out


def test_a_note_added_during_the_reseal_is_kept(fake_store: Store) -> None:
    """The notes list is re-sealed under a WATCH: a note appended meanwhile makes it read
    the list again, never lose the new note."""
    ids = fill(fake_store, cases=1, noted=1)
    resealer = Resealer(fake_store.redis, fake_store.keys, [KEY_B, KEY_A])
    real_state = resealer._state
    calls: list[str] = []

    def state_then_add(token: str) -> tuple[str, str]:
        calls.append(token)
        if len(calls) == 3:  # 1, 2: the submission (checked, re-sealed); 3: the first note
            fake_store.notes.add(ids[0], by="sam", now=2.0,
                                 sealed=Sealer([KEY_A]).seal({"text": f"late {CANARY}"}))
        return real_state(token)

    resealer._state = state_then_add  # type: ignore[method-assign]
    done = resealer.run()
    assert done.complete and not done.failed
    assert len(calls) == 7  # the submission twice, two notes, then (the WATCH fired) three
    notes = fake_store.notes.list(ids[0])
    assert len(notes) == 3
    assert [Sealer([KEY_B]).unseal(n["sealed"])["text"].split()[0] for n in notes] == [
        "note", "note", "late"]

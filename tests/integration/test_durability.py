"""LIAISON_DURABILITY=replicated against a real redis-server with no replica: every write
acknowledged to a person (a new case, a case action such as a contact record, a note) waits
for a replica on its own connection and, when none confirms in time, is refused as
StoreUnavailable(`not_replicated`) — while the write itself stands, so the retry finds it.
The default (`async`) never waits."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shared.casework import accept, record_contact
from shared.config import Settings
from shared.store import Store, StoreUnavailable, redis_client
from shared.store.base import NOT_REPLICATED, Durability, WaitingPipeline
from tests.support.cases import add_staff, create_case, route

pytestmark = pytest.mark.integration

TIMEOUT_MS = 50


@pytest.fixture
def stores(redis_url: str) -> Iterator[Callable[[Path], tuple[Settings, Store, Store]]]:
    """(settings, a store that waits for one replica, a plain store); closed afterwards
    (redis-py's connections sit in reference cycles: left to the cycle collector, a socket
    may be finalised before the connection that would close it — a ResourceWarning)."""
    made: list[Store] = []

    def make(tmp_path: Path) -> tuple[Settings, Store, Store]:
        settings = Settings.for_tests(redis_url=redis_url, var_dir=tmp_path)
        waiting = Store(redis_client(redis_url), prefix=settings.key_prefix,
                        durability=Durability("replicated", 1, TIMEOUT_MS))
        plain = Store(redis_client(redis_url), prefix=settings.key_prefix)
        made.extend((waiting, plain))
        return settings, waiting, plain

    yield make
    for store in made:
        store.redis.close()
        store.redis.connection_pool.disconnect()


def test_a_new_case_without_a_replica_is_not_acknowledged_but_stands(stores, tmp_path: Path):
    settings, waiting, plain = stores(tmp_path)
    began = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        create_case(waiting, settings)
    assert caught.value.reason == NOT_REPLICATED
    assert "0 of 1 replica(s)" in str(caught.value)
    assert time.monotonic() - began >= TIMEOUT_MS / 1000  # it waited for WAIT's timeout
    [ref] = plain.redis.keys(f"{settings.key_prefix}ref:*")  # the case is stored
    case_id = plain.redis.get(ref)
    assert plain.cases.get(case_id)["state"] == "received"
    # async (the default) acknowledges the same write at once.
    create_case(plain, settings)
    assert len(plain.redis.keys(f"{settings.key_prefix}ref:*")) == 2


def test_case_actions_and_notes_wait_for_the_replica_too(stores, tmp_path: Path):
    settings, waiting, plain = stores(tmp_path)
    add_staff(plain, "pc_ash", "watford")
    case_id = create_case(plain, settings)
    assert route(plain, settings, case_id).outcome == "offered"
    deps = _Deps(settings, waiting)
    with pytest.raises(StoreUnavailable) as caught:
        accept(deps, case_id, "pc_ash")  # type: ignore[arg-type]
    assert caught.value.reason == NOT_REPLICATED
    assert plain.cases.get(case_id)["state"] == "accepted"  # the action stands
    with pytest.raises(StoreUnavailable) as caught:
        record_contact(deps, case_id, "pc_ash", "phone", "spoke")  # type: ignore[arg-type]
    assert caught.value.reason == NOT_REPLICATED
    with pytest.raises(StoreUnavailable) as caught:
        waiting.notes.add(case_id, by="pc_ash", sealed="sealed-text", now=time.time())
    assert caught.value.reason == NOT_REPLICATED
    assert len(plain.notes.list(case_id)) == 1
    logged = [e["type"] for e in plain.cases.log(case_id)]
    assert "ContactRecorded" in logged and "NoteAdded" in logged
    # Reads and unacknowledged writes do not wait.
    began = time.monotonic()
    waiting.cases.get(case_id)
    waiting.cases.count_route_attempt(case_id)
    assert time.monotonic() - began < TIMEOUT_MS / 1000


def test_wait_counts_the_writes_of_its_own_connection(redis_url: str):
    client = redis_client(redis_url)
    pipe = WaitingPipeline(client, Durability("replicated", 0, 10), transaction=True)
    pipe.set("liaison:k", "v")
    assert pipe.execute() == [True]
    assert pipe.acknowledged == 0  # no replicas; 0 asked for: acknowledged
    assert client.get("liaison:k") == "v"
    client.close()
    client.connection_pool.disconnect()


class _Deps:
    """What shared.casework reads from Deps."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings, self.store = settings, store

    def clock(self) -> float:
        return time.time()

    def offer_timeouts(self) -> dict[int, int]:
        return {p: self.settings.offer_timeout(p) for p in (1, 2, 3, 4)}

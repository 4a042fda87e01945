"""Redis under Sentinel (issue 11): every part finds the master through the Sentinels, and
a failover — the master SIGKILLed, its replica promoted — costs a few seconds of 503s at
intake (Retry-After; the same Idempotency-Key then gives the same case), never a restart of
a worker. Durability `replicated` answers 201 only once a replica has the case.

Each test has a cluster of its own (one master, one replica, three Sentinels, 1 s
down-after), from ops/devsentinel.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from ops.devsentinel import SentinelCluster
from services.intake.app import create_app
from shared.bootstrap import make_store
from shared.config import ConfigError, Settings
from shared.store import Store, StoreUnavailable
from shared.store.base import NOT_REPLICATED, READ_ONLY, UNREACHABLE
from tests import payloads
from tests.fakes import FakePublisher
from tests.support.cases import create_case
from tests.support.sentinel import collect_redis_garbage
from tests.support.stack import CeleryProcess, stack_env, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FAILOVER_WITHIN = 15.0  # seconds; ~2.5 s measured with down-after 1 s
CREATES_TIMED = 50


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SentinelCluster]:
    with SentinelCluster(tmp_path / "sentinel", password="node-pass",
                         sentinel_password="sentinel-pass", appendfsync="always",
                         failover_timeout_ms=3000) as started:
        yield started
    collect_redis_garbage()  # the clients this test's apps made


def settings_for(cluster: SentinelCluster, tmp_path: Path, **overrides: Any) -> Settings:
    return Settings.for_tests(
        redis_sentinels=tuple(cluster.sentinels), redis_master=cluster.master_name,
        redis_url="redis://:node-pass@unused.invalid:6379/0",
        redis_sentinel_password="sentinel-pass", var_dir=tmp_path,
        rate_limit="1000 per minute", api_rate_limit="1000 per minute", **overrides)


def post_report(client: FlaskClient, key: str) -> Any:
    return client.post("/api/v1/reports", data=json.dumps(payloads.report()),
                       content_type="application/json", headers={"Idempotency-Key": key})


def master_client(cluster: SentinelCluster) -> redis.Redis:
    return cluster.client(cluster.master(), timeout=2)


def test_the_store_follows_the_master_through_a_failover(cluster: SentinelCluster,
                                                         tmp_path: Path):
    store = make_store(settings_for(cluster, tmp_path))
    app = create_app(settings_for(cluster, tmp_path), store=store, publisher=FakePublisher())
    client = app.test_client()
    first = post_report(client, "before-failover-1")
    assert first.status_code == 201, first.json
    case_id = store.cases.id_for_reference(first.json["reference"])
    assert case_id and store.cases.get(case_id)["state"] == "received"
    master = master_client(cluster)
    assert master.wait(1, 2000) == 1  # the replica has it before the crash
    master.close()

    old = cluster.kill_master()
    seconds = cluster.wait_for_failover(old, timeout=30)
    assert seconds < FAILOVER_WITHIN

    # Reads go to the new master without a restart, and find what was acknowledged.
    assert store.cases.get(case_id)["state"] == "received"
    assert store.cases.id_for_reference(first.json["reference"]) == case_id
    # Scripts load themselves on the new master (even with its script cache flushed).
    new_master = master_client(cluster)
    new_master.script_flush()
    new_master.close()
    second = post_report(client, "after-failover-1")
    assert second.status_code == 201, second.json
    assert store.cases.id_for_reference(second.json["reference"])
    assert store.writable()


def test_a_write_to_a_demoted_master_is_unavailable_and_intake_says_retry(
        cluster: SentinelCluster, tmp_path: Path):
    settings = settings_for(cluster, tmp_path)
    store = make_store(settings)
    app = create_app(settings, store=store, publisher=FakePublisher())
    client = app.test_client()
    assert post_report(client, "warm-the-pool-1").status_code == 201
    # The node the pool is connected to stops being a master under it (as a Sentinel
    # demotes a master that comes back after a failover); its clients stay connected.
    master = cluster.master()
    replica = cluster.replicas()[0]
    demoted = cluster.client(master, timeout=2)
    demoted.replicaof("127.0.0.1", replica.port)
    cluster.client(replica, timeout=2).replicaof("no", "one")
    try:
        with pytest.raises(StoreUnavailable) as caught:
            store.cases.count_route_attempt("any-case")
        assert caught.value.reason in (UNREACHABLE, READ_ONLY)
        # Intake: nothing half-written, a 503 that says when to come back.
        keys_before = demoted.dbsize()
        answer = post_report(client, "during-demotion-1")
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "30"
        assert "Idempotency-Key" in answer.json["message"]
        assert demoted.dbsize() == keys_before
    finally:
        cluster.client(replica, timeout=2).replicaof(master.address.split(":")[0],
                                                     master.port)
        demoted.replicaof("no", "one")
        demoted.close()
    cluster.wait_replicas_synced()
    assert post_report(client, "after-demotion-1").status_code == 201


def test_intake_answers_503_during_the_failover_and_201_after_with_the_same_case(
        cluster: SentinelCluster, tmp_path: Path):
    settings = settings_for(cluster, tmp_path)
    app = create_app(settings, publisher=FakePublisher())
    client = app.test_client()
    assert post_report(client, "warm-up-0001").status_code == 201

    old = cluster.kill_master()
    killed_at = time.monotonic()
    answers: list[int] = []
    while time.monotonic() - killed_at < 30:
        answer = post_report(client, "in-the-window-1")
        answers.append(answer.status_code)
        if answer.status_code != 503:
            break
        assert answer.headers["Retry-After"] == "30"
        time.sleep(0.2)
    recovered = time.monotonic() - killed_at
    assert answers[0] == 503  # the master is gone: nothing stored, retry later
    assert answers[-1] == 201, answers
    assert recovered < FAILOVER_WITHIN
    print(f"intake recovered {recovered:.1f} s after the master was killed "
          f"({len(answers) - 1} answers of 503)")
    # The retry the 503 asked for, with the same key: the same case, not a second one.
    reference = post_report(client, "in-the-window-1").json
    again = post_report(client, "in-the-window-1")
    assert again.status_code == 200 and again.json["reference"] == reference["reference"]
    store = make_store(settings)
    assert len(store.redis.keys(f"{settings.key_prefix}ref:*")) == 2
    cluster.wait_for_failover(old)


def test_replicated_durability_acknowledges_only_what_a_replica_has(
        cluster: SentinelCluster, tmp_path: Path):
    settings = settings_for(cluster, tmp_path, durability="replicated",
                            durability_timeout_ms=300)
    store = make_store(settings)
    app = create_app(settings, store=store, publisher=FakePublisher())
    client = app.test_client()
    ok = post_report(client, "replicated-0001")
    assert ok.status_code == 201, ok.json
    # What WAIT costs a create (store level, loopback, replica on the same machine).
    quick = make_store(settings_for(cluster, tmp_path))
    per_create = {}
    for mode, target in (("async", quick), ("replicated", store)):
        began = time.perf_counter()
        for _ in range(CREATES_TIMED):
            create_case(target, settings)
        per_create[mode] = 1000 * (time.perf_counter() - began) / CREATES_TIMED
    print("create: " + ", ".join(f"{m} {ms:.2f} ms" for m, ms in per_create.items()))

    def references() -> set[str]:
        return set(store.redis.keys(f"{settings.key_prefix}ref:*"))

    before = references()
    replica = cluster.replicas()[0]
    cluster.kill(replica)
    try:
        refused = post_report(client, "replicated-0002")
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "30"
        with pytest.raises(StoreUnavailable) as caught:
            store.notes.add("some-case", by="officer", sealed="x", now=1.0)
        assert caught.value.reason == NOT_REPLICATED
        # The write stands on the master (only the acknowledgement was withheld).
        [stored] = references() - before
    finally:
        cluster.restart(replica)
    cluster.wait_replicas_synced()
    retried = post_report(client, "replicated-0002")
    assert retried.status_code == 200  # the same case, now on the replica too
    assert stored.endswith(retried.json["reference"])
    assert references() - before == {stored}
    on_replica = cluster.client(replica, timeout=2)
    assert on_replica.exists(stored)
    on_replica.close()


def test_fsync_durability_refuses_a_redis_that_does_not_fsync_in_production(
        cluster: SentinelCluster, tmp_path: Path):
    settings = settings_for(cluster, tmp_path, durability="fsync")
    # The cluster runs appendfsync always: starts.
    create_app(settings, publisher=FakePublisher())
    master = master_client(cluster)
    master.config_set("appendfsync", "everysec")
    try:
        production = Settings.for_tests(**{**settings.__dict__, "env": "production"})
        with pytest.raises(ConfigError, match="appendfsync is 'everysec'"):
            create_app(production, publisher=FakePublisher())
    finally:
        master.config_set("appendfsync", "always")
        master.close()


def test_a_worker_consumes_from_the_new_master_without_a_restart(cluster: SentinelCluster,
                                                                 tmp_path: Path):
    env = stack_env("redis://:node-pass@unused.invalid:6379/0", tmp_path,
                    **cluster.settings_env())
    env.pop("LIAISON_REDIS_URL")
    env["LIAISON_REDIS_URL"] = "redis://:node-pass@unused.invalid:6379/0"
    settings = Settings.from_env(env)
    store: Store = make_store(settings)
    app = create_app(settings)  # the real publisher: the case script pushes the task
    client = app.test_client()
    worker = CeleryProcess.worker("services.router.celery_app", "route", env,
                                  tmp_path).start()
    try:
        def routed(reference: str) -> bool:
            case_id = store.cases.id_for_reference(reference)
            return bool(case_id) and store.cases.get(case_id)["state"] != "received"

        before = post_report(client, "worker-before-1").json["reference"]
        wait_for(lambda: routed(before), timeout=20, what="the worker to route a case")

        old = cluster.kill_master()
        cluster.wait_for_failover(old, timeout=30)
        after = wait_for(lambda: _created(client, "worker-after-1"), timeout=30,
                         what="intake to store a case on the new master")
        began = time.monotonic()
        wait_for(lambda: routed(after), timeout=30,
                 what="the same worker to consume from the new master")
        print(f"worker consumed {time.monotonic() - began:.1f} s after the case was stored "
              f"({time.monotonic() - (old.killed_at or 0):.1f} s after the kill)")
        assert worker.proc is not None and worker.proc.poll() is None  # never restarted
    finally:
        worker.stop()
    assert "Unrecoverable error" not in worker.log()


def _created(client: FlaskClient, key: str) -> str:
    answer = post_report(client, key)
    return str(answer.json["reference"]) if answer.status_code in (200, 201) else ""

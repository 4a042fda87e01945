"""7. Scaling with workers: router and notifier throughput at 1, 2 and 4 worker processes.

For each concurrency (prefork pool processes of one worker, as `-c` in the Procfile) the
queue is loaded first and then released at once, so the figure is the drain rate alone
(no publisher in the race, no worker start-up): the worker consumes a queue of its own
(`scaling.route` / `scaling.notify`), the messages are published to the real queue with
nobody consuming it, and a RENAME hands the whole list over (a blocked BRPOP wakes on it).

* no-op (the baseline): `bench.noop_worker` (the router's Celery app plus a task that
  only counts itself), N tasks, until the counter reaches N;
* router: the same worker process, N stored cases' `router.assign_case`, until all N are
  in the offers set;
* notifier: `services.notifier.celery_app`, N of the alerts the router's offers
  queued (email to a real SMTP sink, webhook to a real HTTP sink, in-app), until the
  queue and the broker's unacked set are empty.

No-op and router rounds take turns (two of each; the best of each counts), the notifier
drains once per concurrency.

The speed-up of each from 1 to the best of 2 and 4 processes is compared with the no-op's
speed-up at the same counts: the no-op shows what the machine (its cores, shared with
redis-server, the sinks and this process) and Redis allow Celery itself.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import redis

from bench import workload
from bench.common import Options, Outcome, cpu_seconds, log, new_tmp, real_redis
from bench.noop_worker import DONE_KEY, NOOP
from bench.sinks import Arrivals, TimedMailSink, timed_http_sink
from ops.devredis import EmbeddedRedis
from shared.config import Settings
from shared.messaging import NOTIFY_QUEUE, ROUTE_QUEUE, CeleryPublisher, make_celery
from shared.store import Store, redis_client
from tests.support.stack import CeleryProcess, stack_env
from tests.support.world import World

CONCURRENCY = (1, 2, 4)
TARGET_SHARE = 0.8          # each speed-up ≥ 80% of the no-op's at the same counts
OFFICERS_PER_DISTRICT = 5
SECRET = "bench-webhook-secret"
TIMEOUT = 180.0
HELD = {ROUTE_QUEUE: "scaling.route", NOTIFY_QUEUE: "scaling.notify"}
UNACKED = "unacked"         # kombu's Redis transport: messages taken, not yet acknowledged
RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                "interval_max": 0.5}


def run(options: Options) -> Outcome:
    n = options.pick(1000, 200)
    rounds = options.pick(2, 1)
    tmp = new_tmp("scaling")
    arrivals = Arrivals()
    mail = TimedMailSink(arrivals).start()
    http = timed_http_sink(arrivals, SECRET).start()
    levels: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        with real_redis("scaling") as server:
            env = stack_env(server.url, tmp, LIAISON_SMTP_URL=mail.url,
                            LIAISON_WEBHOOK_SECRET=SECRET,
                            LIAISON_NOTIFY_BACKOFF_SECONDS="5")
            settings = Settings.from_env(env)
            store = Store(redis_client(server.url), prefix=settings.key_prefix)
            raw = redis.Redis.from_url(server.url)
            workload.roster(store, OFFICERS_PER_DISTRICT, capacity=1_000_000,
                            mail_domain="liaison.test", webhook_url=http.url)
            bench = _Bench(raw, store, World(store, settings=settings),
                           make_celery("bench-publisher", settings), env, tmp, arrivals,
                           rounds, _pid(server))
            try:
                for c in CONCURRENCY:
                    levels.append(bench.level(c, n))
                    log("scaling: %d process(es): no-op %.0f/s, router %.0f/s, notifier "
                        "%.0f/s", c, levels[-1]["noop"]["per_s"],
                        levels[-1]["router"]["per_s"], levels[-1]["notifier"]["per_s"])
            finally:
                store.redis.close()
                raw.close()
    finally:
        mail.stop()
        http.stop()
    return _outcome(options, n, rounds, levels, time.monotonic() - started)


class _Bench:
    def __init__(self, raw: redis.Redis, store: Store, world: World, app: Any,
                 env: dict[str, str], tmp: Path, arrivals: Arrivals, rounds: int,
                 redis_pid: int) -> None:
        self.raw, self.store, self.world, self.app = raw, store, world, app
        self.arrivals = arrivals
        self.rounds = rounds
        self.publisher = CeleryPublisher(app)
        self.env, self.tmp = env, tmp
        self.redis_proc = psutil.Process(redis_pid)
        self.worker: CeleryProcess | None = None   # the one being measured

    def level(self, c: int, n: int) -> dict[str, Any]:
        """No-op and router rounds on one router worker, then the notifier's on its own."""
        worker = CeleryProcess.worker("bench.noop_worker", HELD[ROUTE_QUEUE], self.env,
                                      self.tmp, concurrency=c, name=f"scale-router{c}")
        self.worker = worker.start()
        try:
            self._noop(20)  # warm every pool process: code, connections, scripts
            self._route(20)
            time.sleep(0.5)  # the last warm-up offer's alert is queued just after the offer
            self.raw.delete(NOTIFY_QUEUE)
            noops, routes = [], []
            for _ in range(self.rounds):  # taking turns; the best of each counts
                noops.append(self._noop(n))
                routes.append(self._route(n))
            time.sleep(0.5)
            self.raw.ltrim(NOTIFY_QUEUE, -n, -1)  # n of the alerts the offers queued
        finally:
            worker.stop()
        notifier = CeleryProcess.worker("services.notifier.celery_app", HELD[NOTIFY_QUEUE],
                                        self.env, self.tmp, concurrency=c,
                                        name=f"scale-notifier{c}")
        self.worker = notifier.start()
        try:
            notify = self._notify()
        finally:
            notifier.stop()
        return {"processes": c, "noop": _best(noops), "router": _best(routes),
                "notifier": notify, "rounds": {"noop": noops, "router": routes}}

    def _release(self, queue: str, done: Callable[[], bool]
                 ) -> tuple[int, float, dict[str, Any]]:
        """Hand the loaded queue to the waiting worker; (messages, seconds to `done`, where
        the CPU went meanwhile)."""
        count = int(self.raw.llen(queue))
        before, machine = self._cpu(), _machine_busy()
        start = time.perf_counter()
        self.raw.rename(queue, HELD[queue])
        deadline = start + TIMEOUT
        while not done():
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{queue}: not drained in {TIMEOUT:.0f} s")
            time.sleep(0.005)
        took = time.perf_counter() - start
        after, cores = self._cpu(), os.cpu_count() or 1
        cpu = {"cores_busy": {name: round((after[name] - before[name]) / took, 2)
                              for name in after},
               "machine_busy_share": round((_machine_busy() - machine) / (took * cores), 2)}
        return count, took, cpu

    def _cpu(self) -> dict[str, float]:
        """CPU seconds so far: the worker's main process (it takes the messages from Redis
        and hands them to the pool), its pool processes, redis-server, this process."""
        main = [psutil.Process(self.worker.proc.pid)] if self.worker and self.worker.proc \
            else []
        pool = self.worker.pool_children() if self.worker else []
        return {"worker main process": cpu_seconds(main), "pool processes": cpu_seconds(pool),
                "redis-server": cpu_seconds([self.redis_proc]),
                "bench process (sinks, polling)": cpu_seconds([psutil.Process()])}

    def _noop(self, n: int) -> dict[str, Any]:
        self.raw.set(DONE_KEY, 0)
        for i in range(n):
            self.app.send_task(NOOP, args=[str(i)], queue=ROUTE_QUEUE, retry=True,
                               retry_policy=RETRY_POLICY)
        count, took, cpu = self._release(ROUTE_QUEUE,
                                         lambda: int(self.raw.get(DONE_KEY) or 0) >= n)
        return _rate(count, took, "tasks") | cpu

    def _route(self, n: int) -> dict[str, Any]:
        codes = workload.districts()
        offers = self.store.keys.offers
        expected = int(self.raw.zcard(offers)) + n
        for i in range(n):
            self.publisher.route_case(self.world.case(codes[i % len(codes)]))
        count, took, cpu = self._release(ROUTE_QUEUE,
                                         lambda: int(self.raw.zcard(offers)) >= expected)
        return _rate(count, took, "cases offered") | cpu

    def _notify(self) -> dict[str, Any]:
        def drained() -> bool:
            pipe = self.raw.pipeline(transaction=False)
            pipe.llen(HELD[NOTIFY_QUEUE])
            pipe.hlen(UNACKED)
            waiting, taken = pipe.execute()
            return int(waiting) == 0 and int(taken) == 0

        before = dict(self.arrivals.total)
        count, took, cpu = self._release(NOTIFY_QUEUE, drained)
        # each alert arrives on both channels: the sinks' counts confirm the deliveries
        arrived = {f"{channel}_arrived": self.arrivals.total[channel] - before[channel]
                   for channel in before}
        return _rate(count, took, "deliveries") | arrived | cpu


def _pid(server: EmbeddedRedis) -> int:
    assert server.process is not None
    return server.process.pid


def _machine_busy() -> float:
    """CPU seconds the whole machine has been busy (every process, ours or not)."""
    cpu = psutil.cpu_times()
    return float(sum(cpu) - cpu.idle - getattr(cpu, "iowait", 0.0))


def _best(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    return max(rounds, key=lambda r: r["per_s"] or 0.0)


def _rate(count: int, seconds: float, unit: str) -> dict[str, Any]:
    return {"messages": count, "unit": unit, "seconds": round(seconds, 3),
            "per_s": round(count / seconds, 1) if seconds > 0 else None}


def _speedup(levels: list[dict[str, Any]], kind: str) -> float:
    one = levels[0][kind]["per_s"]
    return round(max(lvl[kind]["per_s"] for lvl in levels[1:]) / one, 2)


def _outcome(options: Options, n: int, rounds: int, levels: list[dict[str, Any]],
             seconds: float) -> Outcome:
    cores = os.cpu_count() or 1
    speed = {kind: _speedup(levels, kind) for kind in ("noop", "router", "notifier")}
    share = {kind: round(speed[kind] / speed["noop"], 2) for kind in ("router", "notifier")}
    ratio = min(share.values())
    met = ratio >= TARGET_SHARE

    def rates(kind: str) -> str:
        return " / ".join(f"{lvl[kind]['per_s']:.0f}" for lvl in levels)

    counts = "/".join(str(c) for c in CONCURRENCY)
    limits = [
        f"{cores} CPU cores on this machine, shared by the worker's processes, redis-server, "
        "the SMTP and webhook sinks and this process (and any other work). Speed-up from 1 "
        f"to the best of 2 and 4 processes: router {speed['router']}×, notifier "
        f"{speed['notifier']}×, no-op {speed['noop']}×. Processes beyond the cores still "
        "help while each one spends part of its time waiting on Redis or a peer; the gain "
        "stops when the machine is busy. One worker's main process takes every message "
        "from Redis and hands it to its pool, so it caps a single worker (the no-op shows "
        "it); past that, more worker instances on more cores.",
        _where_cpu_went(levels[-1]),
        "The notifier waits on its SMTP and HTTP peers, so it can gain from more "
        "processes than cores; a router task waits on Redis alone. Here both sinks run "
        "as threads of this (one) Python process, which also polls the queue: at the "
        "higher rates they take a core's share the notifier could have had.",
    ]
    return Outcome(
        name="scaling", title="Router and notifier throughput with 1, 2 and 4 processes",
        measured=f"router {rates('router')} cases/s, notifier {rates('notifier')} "
                 f"deliveries/s at {counts} processes",
        baseline=f"no-op {rates('noop')} tasks/s ({cores} cores)",
        ratio=ratio, ratio_format="{:.0%}",
        target=f"speed-up ≥ {TARGET_SHARE:.0%} of the no-op's",
        met=met,
        parameters={"concurrency": list(CONCURRENCY), "cpu_count": cores,
                    "messages_per_round": n, "pool": "prefork",
                    "rounds": {"noop and router": rounds, "notifier": 1},
                    "officers": OFFICERS_PER_DISTRICT * len(workload.districts()),
                    "channels": ["inapp", "email (SMTP sink)", "webhook (HTTP/1.1 sink)"],
                    "timing": "queue loaded first, released by RENAME to the queue the "
                              "worker consumes; release to the last completion",
                    "speedup": "rate at the best of 2 and 4 processes / rate at 1",
                    "ratio": "the lower of router and notifier speed-up / no-op speed-up",
                    "section_seconds": round(seconds, 1)},
        results={"summary": {"measured": {"router_speedup": speed["router"],
                                          "notifier_speedup": speed["notifier"]},
                             "baseline": {"noop_speedup": speed["noop"]},
                             "ratio": ratio, "target": TARGET_SHARE, "met": met,
                             "cpu_count": cores},
                 "levels": levels, "speedup": speed, "share_of_noop_speedup": share},
        limits=limits,
    )


def _where_cpu_went(level: dict[str, Any]) -> str:
    """Cores each part kept busy at the highest count, and how busy the machine was."""
    def one(kind: str) -> str:
        found = level[kind]
        if "cores_busy" not in found:
            return f"{kind} n/a"
        parts = ", ".join(f"{name} {cores}" for name, cores in found["cores_busy"].items())
        return (f"{kind}: machine {found['machine_busy_share']:.0%} busy; cores kept busy: "
                f"{parts}")
    return (f"Where the CPU went at {level['processes']} processes — " + "; ".join(
        one(kind) for kind in ("noop", "router", "notifier")) + ".")

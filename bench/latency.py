"""1. Submit -> officer alert delivered, at 50 reports/s over HTTP through gunicorn.

The whole stack runs as processes: intake under gunicorn (`run_intake`), router and
notifier Celery workers and beat (`CeleryProcess`, concurrency as in the Procfile), officers
whose email goes to a real SMTP sink and whose webhook goes to a real HTTP sink. Latency
runs from the start of the POST to the sink receiving the offer alert (on email and on the
webhook: the later of the two is the headline). The baseline is the same POST load against
a bare gunicorn+Flask endpoint doing one Redis LPUSH.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

from bench import loadgen, servers, workload
from bench.common import (
    Options,
    Outcome,
    cpu_seconds,
    log,
    new_tmp,
    own_children,
    real_redis,
    summarise,
)
from bench.sinks import Arrivals, TimedMailSink, timed_http_sink
from shared.config import Settings
from shared.store import Store, redis_client
from tests.support.stack import CeleryProcess, stack_env

RATE = 50.0
TARGET_P99_MS = 250.0
SECRET = "bench-webhook-secret"
WORKER_CONCURRENCY = 2  # as the Procfile runs router and notifier


def run(options: Options) -> Outcome:
    seconds = options.pick(20.0, 4.0)
    count = int(RATE * seconds)
    bodies = workload.report_bodies(count)
    tmp = new_tmp("latency")
    with real_redis("latency") as server:
        log("latency: baseline, %d POSTs at %.0f/s to a bare Flask LPUSH endpoint", count, RATE)
        with servers.baseline(server.url, tmp) as url:
            loadgen.open_loop(url + "/push", bodies[:20], 10.0)  # warm the workers
            base_run = loadgen.open_loop(url + "/push", bodies, RATE)
        base = base_run.summary()
        log("latency: full stack, %d reports at %.0f/s", count, RATE)
        stack = _stack_run(server.url, tmp, bodies, options)
    return _outcome(options, count, seconds, base, stack)


def _stack_run(redis_url: str, tmp: Any, bodies: list[bytes], options: Options
               ) -> dict[str, Any]:
    arrivals = Arrivals()
    mail = TimedMailSink(arrivals).start()
    http = timed_http_sink(arrivals, SECRET).start()
    env = stack_env(redis_url, tmp, LIAISON_SMTP_URL=mail.url, LIAISON_WEBHOOK_SECRET=SECRET,
                    LIAISON_SWEEP_INTERVAL_SECONDS="5", LIAISON_OUTBOX_GRACE_SECONDS="5",
                    LIAISON_NOTIFY_BACKOFF_SECONDS="5")
    store = Store(redis_client(redis_url), prefix=Settings.from_env(env).key_prefix)
    # Capacity beyond the whole run: every report is offered, none waits.
    per_district = 2
    workload.roster(store, per_district, capacity=len(bodies), mail_domain="liaison.test",
                    webhook_url=http.url)
    procs = [
        CeleryProcess.worker("services.router.celery_app", "route,sweep", env, tmp,
                             concurrency=WORKER_CONCURRENCY, name="router"),
        CeleryProcess.worker("services.notifier.celery_app", "notify", env, tmp,
                             concurrency=WORKER_CONCURRENCY, name="notifier"),
        CeleryProcess.beat("services.router.celery_app", env, tmp),
    ]
    try:
        for proc in procs:
            proc.start()
        with servers.intake(redis_url, tmp) as url:
            workers = servers.workers_of("services.intake.app")
            warm = loadgen.open_loop(url + "/api/v1/reports", bodies[:20], 10.0)
            _wait_delivered(arrivals, warm.references(), 20.0)
            arrivals.clear()
            before = _usage(store)
            run = loadgen.open_loop(url + "/api/v1/reports", bodies, RATE)
            refs = run.references()
            waited = _wait_delivered(arrivals, [r for r in refs if r], options.pick(30.0, 15.0))
            usage = _usage_since(before, _usage(store), len(bodies))
        return _stack_summary(run, refs, arrivals, store, waited, workers) | {"usage": usage}
    finally:
        for proc in reversed(procs):
            proc.stop()
        mail.stop()
        http.stop()


def _usage(store: Store) -> dict[str, float]:
    """CPU seconds so far of each kind of process, and Redis commands served."""
    stats = store.redis.info("commandstats")
    return {
        "intake": cpu_seconds(own_children("gunicorn", "services.intake.app")),
        "router": cpu_seconds(own_children("celery", "services.router", "worker")),
        "notifier": cpu_seconds(own_children("celery", "services.notifier")),
        "redis_calls": sum(int(v.get("calls", 0)) for v in stats.values()),
        "wall": time.monotonic(),
    }


def _usage_since(before: dict[str, float], after: dict[str, float], reports: int
                 ) -> dict[str, Any]:
    """Per report: CPU ms of each service and Redis commands; and each service's CPU share."""
    wall = after["wall"] - before["wall"]
    out: dict[str, Any] = {"wall_s": round(wall, 1)}
    for name in ("intake", "router", "notifier"):
        spent = after[name] - before[name]
        out[f"{name}_cpu_ms_per_report"] = round(spent * 1000 / reports, 2)
        out[f"{name}_cpu_cores_busy"] = round(spent / wall, 2)
    out["redis_commands_per_report"] = round(
        (after["redis_calls"] - before["redis_calls"]) / reports, 1)
    return out


def _wait_delivered(arrivals: Arrivals, refs: list[str], timeout: float) -> float:
    """Seconds spent waiting after the load until every reference arrived (bounded)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if all(arrivals.delivered(r) for r in refs):
            break
        time.sleep(0.1)
    return round(time.monotonic() - started, 1)


def _stack_summary(run: loadgen.Run, refs: list[str], arrivals: Arrivals, store: Store,
                   waited: float, workers: int) -> dict[str, Any]:
    """Latencies per channel, plus where the time went for each report (wall clock)."""
    per: dict[str, list[float]] = {"email": [], "webhook": [], "all": [], "first": []}
    stages: dict[str, list[float]] = {"http_response": [], "to_offered": [],
                                      "offered_to_delivered": []}
    offered_at: list[float] = []
    delivered_at: list[float] = []
    for sample, ref in zip(run.samples, refs, strict=True):
        start = sample.start + run.wall_offset
        got = {ch: arrivals.first[ch].get(ref) for ch in ("email", "webhook")} if ref else {}
        times = [t for t in got.values() if t is not None]
        for ch in ("email", "webhook"):
            at = got.get(ch)
            per[ch].append(at - start if at is not None else math.inf)
        both = len(times) == 2
        per["all"].append(max(times) - start if both else math.inf)
        per["first"].append(min(times) - start if times else math.inf)
        if both:
            case = store.cases.get(store.cases.id_for_reference(ref) or "") or {}
            delivered_at.append(max(times))
            if case.get("offered_at"):
                offered = float(case["offered_at"])
                offered_at.append(offered)
                stages["http_response"].append(sample.service)
                stages["to_offered"].append(offered - start)
                stages["offered_to_delivered"].append(max(times) - offered)
    return {
        "http": run.summary(), "intake_gunicorn_workers": workers,
        "waited_after_load_s": waited, "sink_totals": dict(arrivals.total),
        "delivered_all_channels": sum(math.isfinite(v) for v in per["all"]),
        "latency": {name: summarise(values) for name, values in per.items()},
        "stages_median_ms": {name: round(statistics.median(v) * 1000, 1) if v else None
                             for name, v in stages.items()},
        "stages_p99": {name: summarise(v)["p99_ms"] for name, v in stages.items()},
        "rates_per_s": {"offered (router)": _rate(offered_at),
                        "delivered (notifier)": _rate(delivered_at)},
    }


def _rate(times: list[float]) -> float | None:
    """Events per second between the first and the last (how fast a stage drained)."""
    if len(times) < 2 or max(times) <= min(times):
        return None
    return round((len(times) - 1) / (max(times) - min(times)), 1)


def _outcome(options: Options, count: int, seconds: float, base: dict[str, Any],
             stack: dict[str, Any]) -> Outcome:
    lat = stack["latency"]["all"]
    base_lat = base["service"]
    p99, base_p99 = lat["p99_ms"], base_lat["p99_ms"]
    met = p99 is not None and p99 <= TARGET_P99_MS
    limits = []
    if not met:
        med, p99s, use = stack["stages_median_ms"], stack["stages_p99"], stack["usage"]
        limits.append(
            "Stage times, median / p99: HTTP response "
            f"{med['http_response']} / {p99s['http_response']} ms, POST start to offered "
            f"{med['to_offered']} / {p99s['to_offered']} ms, offered to delivered on both "
            f"channels {med['offered_to_delivered']} / {p99s['offered_to_delivered']} ms.")
        cpu = [use[f"{name}_cpu_ms_per_report"] for name in ("intake", "router", "notifier")]
        limits.append(
            f"A report costs {cpu[0]} + {cpu[1]} + {cpu[2]} ms CPU in intake, router and "
            f"notifier, {sum(cpu) * RATE / 1000:.2f} cores at {RATE:.0f}/s before Redis and "
            "the sinks, on 2 CPUs that other work was also using (see machine.during_run).")
        limits.append(_slowest_stage(stack))
    return Outcome(
        name="latency", title="Submit → officer alert delivered at 50 reports/s",
        measured=_fmt(lat), baseline=f"{_fmt(base_lat)} (HTTP round trip only)",
        ratio=round(p99 / base_p99, 1) if p99 and base_p99 else None,
        target=f"p99 ≤ {TARGET_P99_MS:.0f} ms", met=met,
        parameters={
            "rate_per_s": RATE, "seconds": seconds, "reports": count,
            "officers": len(workload.districts()) * 2,
            "router_concurrency": WORKER_CONCURRENCY,
            "notifier_concurrency": WORKER_CONCURRENCY,
            "sweep_interval_s": 5, "channels": ["inapp", "email (SMTP sink)",
                                                "webhook (HTTP sink)"],
            "headline": "later of the email and webhook arrivals, from POST start",
            "load_generator": "open loop, Python threads, http.client",
        },
        results={"stack": stack, "baseline": base},
        limits=limits,
    )


_STAGE_RATE = {"intake": "", "router": "offered (router)", "notifier": "delivered (notifier)"}


def _slowest_stage(stack: dict[str, Any]) -> str:
    """Which service the tail built up in, from the stage times' p99s and drain rates."""
    p99 = stack["stages_p99"]
    http = p99["http_response"] or 0.0
    stages = {"intake": http, "router": max(0.0, (p99["to_offered"] or 0.0) - http),
              "notifier": p99["offered_to_delivered"] or 0.0}
    slowest = max(stages, key=lambda name: stages[name])
    why = {
        "intake": "gunicorn's 2 sync workers take one request each at a time",
        "router": f"{WORKER_CONCURRENCY} router processes, one case each at a time",
        "notifier": "each alert goes out in sequence over in-app, the process's open SMTP "
                    "session and a kept-alive HTTP connection with about fourteen Redis "
                    "round trips, "
                    f"{WORKER_CONCURRENCY} alerts at a time",
    }[slowest]
    rate = stack["rates_per_s"].get(_STAGE_RATE[slowest])
    if rate is None:
        pace = ""
    elif rate >= 0.95 * RATE:
        pace = f"; it kept pace on average ({rate}/s), so the tail is stalls, not a backlog"
    else:
        pace = f"; it got through {rate}/s against {RATE:.0f}/s coming in, so a backlog built"
    return f"The tail builds up in the {slowest} (p99 {stages[slowest]:.0f} ms{pace}): {why}."


def _fmt(summary: dict[str, Any]) -> str:
    def ms(key: str) -> str:
        value = summary.get(key)
        return "lost" if value is None else f"{value:.0f}"

    failed = f", {summary['failed']} lost" if summary.get("failed") else ""
    return f"p50 {ms('p50_ms')} / p95 {ms('p95_ms')} / p99 {ms('p99_ms')} ms{failed}"

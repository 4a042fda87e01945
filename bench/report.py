"""The summary table (from the results JSON files) and the README section it lives in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import BENCH_DIR

README = BENCH_DIR.parent / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
HEADER = ("| benchmark | measured | baseline | ratio | target | met |\n"
          "| --- | --- | --- | --- | --- | --- |")
SECTION = """
## Benchmarks

`make bench` (about 23 minutes) measures on this machine, each number against a baseline
run in the same invocation, and writes `bench/results/<name>.json` (machine and how busy it
was, parameters, raw numbers, target, pass/fail), `bench/results/summary.md` and the table
below; `.venv/bin/python -m bench --quick` is a smoke run of a few minutes (results in
`bench/results/tmp/quick/`), `--only intake,durability,scaling` (any of latency, intake,
routing, pick, rings, throughput, durability, scaling) runs some.
**latency**: POST start to the officer's offer alert arriving at a real SMTP and webhook
sink (the later of the two), at 50 reports/s through gunicorn, router, notifier and beat;
baseline: the same load's round trip to a bare Flask endpoint doing one Redis LPUSH.
**intake**: the highest POST rate held for 30 s with p99 under 1 s (from the planned send
time), as a share of the bare endpoint's. **routing**: cases offered per second by one
router worker (concurrency 1), as a share of the same worker running a no-op task.
**pick**: median µs of one `store.routing.assign` with 10, 1,000 and 10,000 officers in a
district; the ratio is 10,000 to 10. **throughput**: the highest report rate (stepped 20,
40, ... reports/s, each held 30 s) the whole stack delivers on both channels with p99
≤ 1 s and no backlog, as a share of the lightest pipeline's (POST, one Redis write, a
Celery task, one Lua pick, a Celery task writing a timestamp; same worker counts), plus
both p99s at 50/s. **durability**: the same stack under LIAISON_DURABILITY async, fsync
and replicated (10 s holds), as ratios to async. **scaling**: router and notifier drain
rates with 1, 2 and 4 worker processes, their speed-up against a no-op task's. The machine
has two cores and other work on it: compare ratios, not absolute numbers.

{start}
{end}
"""


def load(results_dir: Path, names: list[str]) -> list[dict[str, Any]]:
    """The results present in the directory, in benchmark order."""
    found = []
    for name in names:
        path = results_dir / f"{name}.json"
        if path.exists():
            found.append(json.loads(path.read_text()))
    return found


def table(results: list[dict[str, Any]]) -> str:
    """The Markdown summary: one row per benchmark, then what limits any missed target."""
    rows = [HEADER]
    notes = []
    for r in results:
        s = r["summary"]
        name = r["name"] + (" (quick)" if r.get("quick") else "")
        met = "—" if s["target"].startswith("none") else "yes" if r["met"] else "**no**"
        rows.append(f"| {name} | {s['measured']} | {s['baseline']} | {s['ratio_text']} | "
                    f"{s['target']} | {met} |")
        notes += [f"- **{r['name']}**: {note}" for note in r.get("limits", [])]
    if results:
        m = results[0]["machine"]
        when = max(r["run_at"] for r in results)
        rows.append("")
        other = max(r["machine"].get("during_run", {}).get("cpu_share_other_work", 0.0)
                    for r in results)
        rows.append(f"Measured {when} on {m['cpu_count']} CPUs ({m['cpu_model']}), Python "
                    f"{m['python']}, redis-server {m['redis_server']}; other work on the "
                    f"machine used up to {other:.0%} of its CPU during a benchmark.")
    if notes:
        rows += ["", "What limits the numbers:", "", *notes]
    return "\n".join(rows) + "\n"


def update_readme(text: str, readme: Path = README) -> None:
    """Put `text` between the bench markers, adding the section at the end if it is absent."""
    content = readme.read_text()
    if START not in content or END not in content:
        content = content.rstrip("\n") + "\n" + SECTION.format(start=START, end=END)
    head, rest = content.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{text.rstrip()}\n{END}{tail}")

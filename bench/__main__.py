"""`python -m bench [--quick] [--only latency,intake,routing,pick,rings,throughput,
durability,scaling,failover]`.

Runs the benchmarks, writes one JSON per benchmark and prints the summary table (also
written to summary.md; a full run also puts it in README.md between the bench markers).
Exit status 1 when a benchmark could not run; a missed target is reported, not an error.
The failover drill (`failover`, about six minutes) runs only when named: `make drill`
(`python -m bench.failover`) or `--only failover`.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable

import pytest

from bench import (
    durability,
    failover,
    intake,
    latency,
    pick,
    report,
    rings,
    routing,
    scaling,
    throughput,
)
from bench.common import (
    QUICK_DIR,
    RESULTS_DIR,
    MachineWatch,
    Options,
    Outcome,
    log,
    remove_scratch,
    write_result,
)

BENCHMARKS: dict[str, Callable[[Options], Outcome]] = {
    "latency": latency.run, "intake": intake.run, "routing": routing.run, "pick": pick.run,
    "rings": rings.run, "throughput": throughput.run,
    "durability": durability.run, "scaling": scaling.run,
    "failover": failover.run,
}
# What `make bench` runs: the drill more than doubles its time and measures something else
# (what a failover costs, not speed), so it runs on its own (`make drill`).
DEFAULT = ("latency", "intake", "routing", "pick", "rings", "throughput", "durability",
           "scaling")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only \
        else list(DEFAULT)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        _parser().error(f"unknown benchmark(s): {', '.join(unknown)}")
    options = Options(quick=args.quick, results_dir=QUICK_DIR if args.quick else RESULTS_DIR)
    failed = []
    for name in names:
        started, watch = time.time(), MachineWatch()
        log("%s: starting%s", name, " (quick)" if options.quick else "")
        try:
            outcome = BENCHMARKS[name](options)
        # One broken benchmark must not hide the others' results (the tests' process
        # helpers report a failed start with pytest.fail).
        except (Exception, pytest.fail.Exception):
            failed.append(name)
            log("%s: could not run:\n%s", name, traceback.format_exc())
            continue
        path = write_result(options, outcome, started, watch.stop())
        log("%s: %s (%.0f s) -> %s", name, "met" if outcome.met else "MISSED",
            time.time() - started, path)
    remove_scratch()
    text = report.table(report.load(options.results_dir, list(BENCHMARKS)))
    (options.results_dir / "summary.md").write_text(text)
    if not options.quick:
        report.update_readme(text)
    print(text)
    return 1 if failed else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmarks, each against a baseline run alongside.")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of a few minutes (results in bench/results/tmp/quick)")
    parser.add_argument("--only", default="",
                        help="comma-separated subset of: " + ",".join(BENCHMARKS))
    return parser


if __name__ == "__main__":
    sys.exit(main())

"""The failover drill, short: one round of `make drill` (bench/failover.py, the same code).

A Redis master, one replica and three Sentinels; intake under gunicorn, two router workers,
a notifier and beat as separate processes that find the master through the Sentinels;
officers alerted by email (real SMTP sink) and webhook (real HTTP sink). A partner-like
client sends reports with Idempotency-Keys and retries 503s and lost connections with the
same key. Mid-load the master is SIGKILLed; nobody touches anything afterwards.

With LIAISON_DURABILITY=replicated no acknowledged report may be lost, no case may be
offered twice (two officers, or one alert twice), and intake and the workers must be back
within 30 s by themselves.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.failover import RECOVERY_TARGET_S, Plan, run_round

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_replicated_master_kill_loses_nothing_and_recovers(tmp_path: Path):
    plan = Plan(mode="replicated", kill="master", rate=5.0, kill_at=4.0, after_kill_min=8.0,
                after_recovery=3.0, after_kill_max=30.0, settle=20.0)
    result = run_round(plan, tmp_path)
    shown = json.dumps(result.as_dict(), indent=1)

    assert result.details["sentinel_settings"], "the services were not given the Sentinels"
    assert result.acknowledged >= 20, shown
    assert result.lost == 0, shown
    assert result.present == result.acknowledged, shown
    assert result.duplicate_offers == 0, shown
    assert result.routed == result.present, shown
    assert result.intake_recovery_s is not None, shown
    assert result.intake_recovery_s < RECOVERY_TARGET_S, shown
    assert result.worker_recovery_s is not None, shown
    assert result.worker_recovery_s < RECOVERY_TARGET_S, shown

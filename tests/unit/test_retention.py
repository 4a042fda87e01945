"""The retention schedule: closed cases past their kind's period lose every personal field
(submission, notes) and keep their statistics; open and recently closed cases are untouched;
the erasure is audited and logged; a dry run changes nothing; a second run is a no-op; the
sweeper runs it once a day; the console shows an erased case's routing fields."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import fakeredis
import pytest
from click.testing import CliRunner

from ops.cli import Runtime, main
from services.router.sweeper import sweep
from shared import retention
from shared.bootstrap import Deps
from shared.config import Settings
from shared.domain import events
from shared.domain.model import CaseKind
from shared.domain.states import Action, sources
from shared.geography import load_force
from shared.sealing import Sealer
from shared.store import Store
from tests.conftest import CANARY
from tests.fakes import FakePublisher
from tests.support.cases import create_case

DAY = 86400.0
NOW = time.time()
STATS = ("id", "reference", "kind", "priority", "district", "strands", "created_at",
         "closed_at", "outcome", "state")


def closed_case(store: Store, settings: Settings, *, kind: CaseKind = CaseKind.REPORT,
                closed_days_ago: float, note: bool = True) -> str:
    at = NOW - closed_days_ago * DAY
    case_id = create_case(store, settings, kind=kind, now=at - 3600)
    if note:
        store.notes.add(case_id, by="sam", now=at - 60,
                        sealed=Sealer(settings.sealing_keys).seal({"text": f"note {CANARY}"}))
    store.routing.act("close", case_id, actor="sam", now=at,
                      from_states=sources(Action.CLOSE_ANY), own=False, outcome="advice_given")
    return case_id


def canary_keys(store: Store, settings: Settings) -> set[str]:
    """Every key whose value, opened where sealed, holds the canary."""
    sealer = Sealer(settings.sealing_keys)
    found: set[str] = set()
    r = store.redis
    for key in r.scan_iter(count=1000):
        kind = r.type(key)
        values: list[Any] = []
        if kind == "hash":
            values = list(r.hgetall(key).values())
        elif kind == "list":
            values = r.lrange(key, 0, -1)
        elif kind == "string":
            values = [r.get(key)]
        elif kind == "stream":
            values = [v for _, f in r.xrange(key) for v in f.values()]
        elif kind in ("set", "zset"):
            values = list(r.smembers(key)) if kind == "set" else r.zrange(key, 0, -1)
        for value in values:
            text = str(value)
            if CANARY in text:
                found.add(key)
            for token in _tokens(text):
                try:
                    if CANARY in str(sealer.unseal(token)):
                        found.add(key)
                except Exception:  # noqa: BLE001 — not a sealed token
                    pass
    return found


def _tokens(text: str) -> list[str]:
    import json
    if text.startswith("gAAAA"):
        return [text]
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            return []
        return [v for v in value.values() if isinstance(v, str) and v.startswith("gAAAA")]
    return []


@pytest.fixture
def world(fake_store: Store, settings: Settings) -> dict[str, str]:
    s = settings
    return {
        "old_report": closed_case(fake_store, s, closed_days_ago=2200),
        "old_callback": closed_case(fake_store, s, kind=CaseKind.CALLBACK, closed_days_ago=400),
        "recent_report": closed_case(fake_store, s, closed_days_ago=400),
        "recent_callback": closed_case(fake_store, s, kind=CaseKind.CALLBACK,
                                       closed_days_ago=300),
        "open_old": create_case(fake_store, s, now=NOW - 3000 * DAY),
    }


def test_the_defaults_are_six_years_for_reports_and_one_for_callbacks() -> None:
    s = Settings.for_tests()
    assert s.retention_seconds("report") == 2190 * 86400
    assert s.retention_seconds("callback") == 365 * 86400


def test_eligible_cases_lose_every_personal_field_and_keep_their_statistics(
        fake_store, settings, world):
    before = {name: fake_store.cases.get(cid) for name, cid in world.items()}
    result = retention.run(fake_store, settings, now=NOW, by="system")
    assert result.erased == {"report": 1, "callback": 1} and result.skipped == 0

    for name in ("old_report", "old_callback"):
        cid = world[name]
        case = fake_store.cases.get(cid)
        assert "sealed" not in case and case["erased_at"] == f"{NOW:.6f}"
        assert {k: case[k] for k in STATS} == {k: before[name][k] for k in STATS}
        assert fake_store.notes.list(cid) == []
        log = fake_store.cases.log(cid)
        assert log[-1]["type"] == events.CASE_ERASED
    # no canary left anywhere for the erased cases; still there for the others
    left = canary_keys(fake_store, settings)
    k = fake_store.keys
    assert not any(world[n] in key for n in ("old_report", "old_callback") for key in left)
    assert {k.case(world["recent_report"]), k.case_notes(world["recent_report"]),
            k.case(world["recent_callback"]), k.case(world["open_old"])} <= left
    for name in ("recent_report", "recent_callback", "open_old"):
        assert fake_store.cases.get(world[name]) == before[name]

    audit = [f for _, f in fake_store.redis.xrange(k.audit)]
    erased = [(a["case_id"], a["kind"], a["by"]) for a in audit
              if a["type"] == events.CASE_ERASED]
    assert sorted(erased) == sorted([(world["old_report"], "report", "system"),
                                     (world["old_callback"], "callback", "system")])
    runs = [a for a in audit if a["type"] == events.RETENTION_RUN]
    assert runs[-1]["counts"] == "callback=1,report=1" and runs[-1]["dry_run"] == "0"
    stream = [f["type"] for _, f in fake_store.redis.xrange(k.events)]
    assert stream.count(events.CASE_ERASED) == 2


def test_a_dry_run_changes_nothing_and_a_second_run_is_a_no_op(fake_store, settings, world):
    def snapshot() -> dict[str, Any]:
        r = fake_store.redis
        return {key: (r.hgetall(key) if r.type(key) == "hash" else
                      r.lrange(key, 0, -1) if r.type(key) == "list" else None)
                for key in r.scan_iter()  # the audit trail (and its head) records the run
                if not key.endswith(("audit", "audit:head", "events"))}

    before = snapshot()
    dry = retention.run(fake_store, settings, now=NOW, by="cli", dry_run=True)
    assert dry.erased == {"report": 1, "callback": 1}
    assert snapshot() == before

    assert retention.run(fake_store, settings, now=NOW, by="cli").total == 2
    after = snapshot()
    again = retention.run(fake_store, settings, now=NOW + 60, by="cli")
    assert again.total == 0 and snapshot() == after


def test_periods_come_from_the_setting(fake_store, settings, world):
    short = Settings.for_tests(sealing_keys=settings.sealing_keys,
                               retention_days="report=100,callback=100")
    result = retention.run(fake_store, short, now=NOW, by="system")
    assert result.erased == {"report": 2, "callback": 2}
    assert "sealed" in fake_store.cases.get(world["open_old"])


def test_a_case_reopened_meanwhile_is_not_erased(fake_store, settings, world):
    cid = world["old_report"]
    candidate = next(c for c in fake_store.retention.due(NOW, lambda kind: 365 * DAY)
                     if c.case_id == cid)
    fake_store.redis.hset(fake_store.keys.case(cid), "state", "accepted")
    assert not fake_store.retention.erase(candidate, by="system", now=NOW,
                                          cutoff={"report": NOW, "callback": NOW})
    assert "sealed" in fake_store.cases.get(cid)


@pytest.mark.parametrize("value", ["report=10", "report=10,callback=0", "report=x,callback=1",
                                   "report=10,callback=10,other=3"])
def test_a_bad_retention_setting_stops_start_up(value: str) -> None:
    from shared.config import ConfigError
    with pytest.raises(ConfigError, match="LIAISON_RETENTION_DAYS"):
        Settings.from_env({"LIAISON_ENV": "test", "LIAISON_RETENTION_DAYS": value})


def test_the_retention_kinds_are_the_case_kinds() -> None:
    from shared.config import RETENTION_KINDS
    assert sorted(RETENTION_KINDS) == sorted(k.value for k in CaseKind)


def test_the_sweeper_runs_it_once_a_day_whichever_sweeper_comes_first(settings):
    client = fakeredis.FakeRedis(decode_responses=True)
    clock_now = [NOW]
    store = Store(client, prefix="test:")
    deps = Deps(settings=settings, store=store, publisher=FakePublisher(),
                sealer=Sealer(settings.sealing_keys), force=load_force(None),
                clock=lambda: clock_now[0])
    first = closed_case(store, settings, closed_days_ago=2200)
    other = Store(client, prefix="test:")  # a second router's sweeper
    sweep(deps)
    assert "sealed" not in store.cases.get(first)
    second = closed_case(store, settings, closed_days_ago=2200)
    sweep(Deps(settings=settings, store=other, publisher=FakePublisher(),
               sealer=deps.sealer, force=deps.force, clock=lambda: clock_now[0] + 60))
    assert "sealed" in store.cases.get(second)  # already run today
    client.delete("test:retention:last_run")  # a day later the key has expired
    sweep(deps)
    assert "sealed" not in store.cases.get(second)
    assert store.retention.last_run() == pytest.approx(NOW)


def test_the_cli_prints_counts_by_kind_and_a_dry_run_changes_nothing(
        fake_store, settings, world):
    runtime = Runtime(settings=settings, store=fake_store,
                      clock=lambda: datetime.fromtimestamp(NOW, UTC))
    result = CliRunner().invoke(main, ["retention", "run", "--dry-run"], obj=runtime)
    assert result.exit_code == 0, result.output
    assert "2 closed cases would be erased" in result.output
    assert "report: 1" in result.output and "callback: 1" in result.output
    assert "sealed" in fake_store.cases.get(world["old_report"])
    result = CliRunner().invoke(main, ["retention", "run"], obj=runtime)
    assert result.exit_code == 0 and "2 closed cases erased" in result.output
    assert "sealed" not in fake_store.cases.get(world["old_report"])


def test_the_console_shows_an_erased_case_with_its_routing_fields(
        fake_store, settings, world, monkeypatch):
    from services.console.app import create_app
    from shared.domain.officers import Role
    from tests.support.cases import add_staff
    from tests.support.console import signed_in, use_cheap_hashing

    use_cheap_hashing(monkeypatch)
    token = add_staff(fake_store, "sam", "watford", role=Role.SUPERVISOR)
    retention.run(fake_store, settings, now=NOW, by="system")
    cid = world["old_report"]
    app = create_app(settings, store=fake_store, publisher=FakePublisher(),
                     clock=lambda: NOW)
    resp = signed_in(app, fake_store, "sam").get(f"/cases/{cid}/view?purpose=supervision")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Personal data erased on" in page and "under the retention schedule" in page
    reference = fake_store.cases.get(cid)["reference"]
    assert reference in page and CANARY not in page
    api = app.test_client().get(f"/api/v1/cases/{cid}?purpose=supervision",
                                headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and CANARY not in api.get_data(as_text=True)
    erased_at = api.get_json()["case"]["erased_at"]
    assert datetime.fromisoformat(erased_at).timestamp() == pytest.approx(NOW)
    recent = signed_in(app, fake_store, "sam").get(f"/cases/{world['recent_report']}/view",
                                                    query_string={"purpose": "supervision"})
    assert CANARY in recent.get_data(as_text=True)
    assert "Personal data erased" not in recent.get_data(as_text=True)


def test_a_backlog_is_erased_a_batch_a_sweep(settings, monkeypatch):
    from services.router import sweeper
    monkeypatch.setattr(sweeper, "RETENTION_BATCH", 2)
    store = Store(fakeredis.FakeRedis(decode_responses=True), prefix="test:")
    deps = Deps(settings=settings, store=store, publisher=FakePublisher(),
                sealer=Sealer(settings.sealing_keys), force=load_force(None), clock=lambda: NOW)
    ids = [closed_case(store, settings, closed_days_ago=2200, note=False) for _ in range(5)]

    def left() -> int:
        return sum("sealed" in store.cases.get(cid) for cid in ids)

    counts = []
    for _ in range(4):
        sweep(deps)
        counts.append(left())
    assert counts == [3, 1, 0, 0]
    assert store.retention.last_run() is not None  # done for the day

"""Partner keys for third-party reporting centres: issued by the CLI (printed once, kept as
a hash), sent as `Authorization: Bearer lp_...`; a case posted with one carries the centre
(and its collection is audited so); a revoked or unknown key is a 401, never the public
path; each key has its own rate limit, apart from the public per-address one."""

from __future__ import annotations

import json

from click.testing import CliRunner
from flask import Flask

from ops.cli import Runtime, main
from ops.devredis import free_port
from services.intake.app import create_app
from shared.config import Settings
from shared.domain import events
from shared.store import Store
from tests import payloads
from tests.fakes import FakePublisher


def intake(store: Store, **limits: str) -> Flask:
    settings = Settings.for_tests(redis_url=f"redis://127.0.0.1:{free_port()}/0", **limits)
    return create_app(settings, store=store, publisher=FakePublisher())


def cli(store: Store, settings: Settings, *args: str):
    return CliRunner().invoke(main, ["partners", *args],
                              obj=Runtime(settings=settings, store=store))


def post(app: Flask, key: str | None = None, path: str = "/api/v1/reports", **environ: str):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = payloads.report() if path.endswith("reports") else payloads.callback()
    return app.test_client().post(path, data=json.dumps(body), content_type="application/json",
                                  headers=headers, environ_base=environ)


def test_add_prints_a_key_once_and_stores_only_its_hash(fake_store, settings):
    added = cli(fake_store, settings, "add", "galop")
    assert added.exit_code == 0, added.output
    key = added.stdout.strip().splitlines()[0]
    assert key.startswith("lp_") and len(key) > 40
    assert key not in str({k: fake_store.redis.dump(k) for k in fake_store.redis.keys("*")})
    again = cli(fake_store, settings, "add", "galop")
    assert again.exit_code != 0 and "already has a live key" in again.output
    assert cli(fake_store, settings, "add", "Not A Name").exit_code == 2


def test_list_and_revoke(fake_store, settings):
    cli(fake_store, settings, "add", "galop")
    cli(fake_store, settings, "add", "herts-pride")
    assert cli(fake_store, settings, "revoke", "galop").exit_code == 0
    listed = cli(fake_store, settings, "list").stdout
    assert "galop" in listed and "revoked" in listed
    assert any("herts-pride" in line and "live" in line for line in listed.splitlines())
    assert cli(fake_store, settings, "revoke", "galop").exit_code != 0   # nothing live
    assert cli(fake_store, settings, "add", "galop").exit_code == 0      # a new key after


def test_a_case_sent_with_a_key_carries_the_partner_and_is_audited_so(fake_store):
    key = fake_store.partners.issue("galop", now=0)
    app = intake(fake_store)
    for path in ("/api/v1/reports", "/api/v1/callbacks"):
        response = post(app, key, path)
        assert response.status_code == 201, response.get_json()
        case_id = fake_store.cases.id_for_reference(response.get_json()["reference"]) or ""
        assert (fake_store.cases.get(case_id) or {})["partner"] == "galop"
    [*_, entry] = [f for _, f in fake_store.redis.xrange(fake_store.keys.audit)
                   if f["type"] == events.CASE_COLLECTED]
    assert (entry["partner"], entry["by"], entry["via"]) == ("galop", "partner:galop",
                                                            "intake-api")
    assert key not in str(fake_store.redis.xrange(fake_store.keys.audit))


def test_the_public_path_without_a_header_still_works(fake_store):
    response = post(intake(fake_store))
    assert response.status_code == 201
    case_id = fake_store.cases.id_for_reference(response.get_json()["reference"]) or ""
    assert "partner" not in (fake_store.cases.get(case_id) or {})


def test_a_revoked_or_unknown_key_is_refused_and_nothing_is_stored(fake_store):
    revoked = fake_store.partners.issue("galop", now=0)
    fake_store.partners.revoke("galop", now=1)
    app = intake(fake_store)
    for key in (revoked, "lp_" + "x" * 43, "not-a-partner-key"):
        response = post(app, key)
        assert response.status_code == 401, key
        assert "not valid" in response.get_json()["message"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    basic = app.test_client().post("/api/v1/reports", json=payloads.report(),
                                   headers={"Authorization": "Basic Z2Fsb3A6eA=="})
    assert basic.status_code == 401
    assert fake_store.redis.keys(fake_store.keys.case("*")) == []


def test_a_partner_has_its_own_limit_apart_from_the_public_one(fake_store):
    key = fake_store.partners.issue("galop", now=0)
    app = intake(fake_store, api_rate_limit="2 per minute", partner_rate_limit="3 per minute")
    partner = [post(app, key).status_code for _ in range(4)]
    public = [post(app).status_code for _ in range(3)]
    assert partner == [201, 201, 201, 429]
    assert public == [201, 201, 429]    # the partner's posts did not use the address's limit
    assert post(app, key, REMOTE_ADDR="10.1.1.1").status_code == 429   # per key, any address


def test_unknown_keys_count_towards_the_address_limit(fake_store):
    app = intake(fake_store, api_rate_limit="2 per minute")
    codes = [post(app, f"lp_guess{i:040d}").status_code for i in range(3)]
    assert codes == [401, 401, 429]

"""Who may call what: every rule in the console's URL map × every kind of caller.

The rules are read from an app built at collection time, so a page or endpoint added later
is covered without touching this file — unless nobody has said who may use it, which fails
loudly (add it to `PAGES`, `API` or `PUBLIC`). Callers: anonymous, the officer a case is
offered to, another officer, a supervisor, an admin and a 101 call handler. Everyone signed
in uses the web sign-in; on the JSON API officers and supervisors present their bearer
token, while the admin and the call handler (who get no token) and anonymous visitors
present none.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import fakeredis
import pytest
from flask import Flask, Response
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter

from services.console.app import create_app
from shared import passwords
from shared.config import Settings
from shared.domain.officers import Officer, Role
from shared.store import Store
from tests.fakes import FakePublisher
from tests.support.cases import add_staff, routed_case
from tests.support.console import csrf_token

PASSWORD = "correct horse battery"
ROLES = ("anonymous", "officer", "other_officer", "supervisor", "admin", "call_handler")
TOKEN_HOLDERS = frozenset({"officer", "other_officer", "supervisor"})
SUPERVISORS = frozenset({"supervisor"})
CASE_READERS = frozenset({"officer", "supervisor"})  # the officer it is offered to, or any sup.
CASE_OFFICER = frozenset({"officer"})

# Who may use each part (by endpoint: blueprint name for pages, view name for the API).
PUBLIC = frozenset({"static", "healthz", "readyz", "prometheus_metrics", "login.login",
                    "login.logout", "api-docs.openapi_json"})  # /metrics is guarded apart
PAGES = {"officer": frozenset({"officer", "other_officer"}),
         "supervisor": SUPERVISORS,
         "admin": frozenset({"admin"}),
         "call": frozenset({"call_handler", "supervisor"})}  # 101 calls taken by phone
# an endpoint that differs from its blueprint: the case link in notifications sends a
# supervisor on to their own case view
PAGE_EXCEPTIONS: dict[str, frozenset[str]] = {
    "officer.case": frozenset({"officer", "other_officer", "supervisor"})}
API = {
    "me": TOKEN_HOLDERS, "my_cases": TOKEN_HOLDERS, "my_availability": TOKEN_HOLDERS,
    "read_case": CASE_READERS, "add_note": CASE_READERS, "close": CASE_READERS,
    "accept": CASE_OFFICER, "decline": CASE_OFFICER, "contact": CASE_OFFICER,
    "record_update": CASE_OFFICER,
    "reassign": SUPERVISORS, "officer_availability": SUPERVISORS, "queues": SUPERVISORS,
    "offer_stats": SUPERVISORS, "sla": SUPERVISORS, "dead_letters": SUPERVISORS,
    "alerts": SUPERVISORS, "acknowledge_alert": SUPERVISORS, "find_case": SUPERVISORS,
}
# Valid bodies by view name (pages and API alike), so that a refusal comes from the access
# check, not from validation that runs before it.
BODIES: dict[str, dict[str, object]] = {
    "decline": {"reason": "other"}, "contact": {"channel": "phone", "outcome": "spoke"},
    "record_update": {"channel": "sms"},
    "add_note": {"text": "A note."}, "close": {"outcome": "advice_given"},
    "reassign": {"officer_id": None}, "availability": {"status": "away"},
    "my_availability": {"status": "away"}, "officer_availability": {"status": "away"},
    "record_callback": {"danger": "no", "contact.name": "Jo", "contact.channels": "phone",
                        "contact.phone": "07700 900456", "contact.safe_times": "any_time",
                        "contact.voicemail_ok": "no", "contact.shared_device": "no",
                        "contact.say_police": "no", "home_area.district": "watford"},
    "record_report": {"danger": "no", "reporter_role": "witness", "anonymous": "yes",
                      "what_happened": "Two men shouted abuse in the street.",
                      "when.description": "Last weekend", "hate_strands": "race",
                      "incident_location.district": "watford"},
}
KNOWN_VALUES = {"officer_id": "officer", "username": "officer", "filename": "css/console.css"}
# by view name: a query a view needs (a case read by anyone but its officer gives a reason)
QUERIES = {"find_case": "reference={reference}", "read_case": "purpose=supervision",
           "case": "purpose=supervision"}

pytestmark = pytest.mark.usefixtures("fast_hashing")


def _rules() -> list[tuple[Rule, str]]:
    store = Store(fakeredis.FakeRedis(decode_responses=True), prefix="test:")
    app = create_app(Settings.for_tests(), store=store, publisher=FakePublisher())
    return [(rule, method) for rule in app.url_map.iter_rules()
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})]


RULES = _rules()


@dataclass(frozen=True)
class Expect:
    outcome: str      # "public", "login", "401", "403" or "allowed"


def expected(rule: Rule, role: str) -> Expect:
    """The outcome the table promises for this caller."""
    endpoint = rule.endpoint
    blueprint, _, view = endpoint.rpartition(".")
    if endpoint in PUBLIC:
        return Expect("public")
    if endpoint == "index":
        return Expect("login" if role == "anonymous" else "allowed")
    if blueprint == "staff_api":
        if view not in API:
            pytest.fail(f"say who may call {endpoint} ({rule.rule}) in API")
        if role not in TOKEN_HOLDERS:
            return Expect("401")
        return Expect("allowed" if role in API[view] else "403")
    who = PAGE_EXCEPTIONS.get(endpoint, PAGES.get(blueprint))
    if who is None:
        pytest.fail(f"say who may see {endpoint} ({rule.rule}) in PAGES or PUBLIC")
    if role == "anonymous":
        return Expect("login")
    if role not in who or (role == "other_officer" and "case_id" in rule.arguments):
        return Expect("403")
    return Expect("allowed")


@dataclass
class World:
    app: Flask
    case_id: str
    tokens: dict[str, str]
    reference: str


@pytest.fixture
def world(settings: Settings, fake_store: Store, publisher: FakePublisher) -> World:
    return make_world(settings, fake_store, publisher)


def make_world(settings: Settings, fake_store: Store, publisher: FakePublisher) -> World:
    """The staff (each with a password, officers with tokens) and a case offered to one."""
    tokens = {"officer": add_staff(fake_store, "officer", "watford"),
              "other_officer": add_staff(fake_store, "other", "stevenage"),
              "supervisor": add_staff(fake_store, "supervisor", "watford",
                                      role=Role.SUPERVISOR)}
    fake_store.officers.save(Officer(id="admin", name="Admin", districts=(), role=Role.ADMIN),
                             on_shift=False, next_change=None)
    add_staff(fake_store, "call_handler", role=Role.CALL_HANDLER)
    for staff_id in ("officer", "other", "supervisor", "admin", "call_handler"):
        fake_store.accounts.create(staff_id, staff_id, passwords.hash_password(PASSWORD))
    case_id, result = routed_case(fake_store, settings, "watford")
    assert result.officer_id == "officer"
    app = create_app(settings, store=fake_store, publisher=publisher)
    return World(app, case_id, tokens, fake_store.cases.get(case_id)["reference"])


def client_for(world: World, role: str) -> FlaskClient:
    client = world.app.test_client()
    page = client.get("/login")  # a session (and a CSRF token) even for anonymous visitors
    assert page.status_code == 200
    if role != "anonymous":
        username = "other" if role == "other_officer" else role
        signed_in = client.post("/login", data={"csrf_token": csrf_token(world.app, client),
                                                "username": username, "password": PASSWORD})
        assert signed_in.status_code == 302, f"{role} could not sign in"
    return client


def path_for(rule: Rule, case_id: str) -> tuple[str, bool]:
    """A URL for the rule, and whether every value in it names something that exists."""
    values: dict[str, object] = {}
    known = True
    for name in rule.arguments:
        if name == "case_id":
            values[name] = case_id
        elif name in KNOWN_VALUES:
            values[name] = KNOWN_VALUES[name]
        else:
            known = False
            number = isinstance(rule._converters[name], NumberConverter)
            values[name] = 1 if number else "0" * 32
    built = rule.build(values, append_unknown=False)
    assert built is not None, rule.rule
    return built[1], known


def assert_security_headers(response: Response) -> None:
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def to_login(response: Response) -> bool:
    return response.status_code == 302 and \
        urlsplit(response.headers.get("Location", "")).path == "/login"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("rule", "method"), RULES,
                         ids=[f"{m} {r.rule}" for r, m in RULES])
def test_every_route_lets_in_only_the_right_callers(world: World, rule: Rule, method: str,
                                                    role: str) -> None:
    expect = expected(rule, role)
    client = client_for(world, role)
    path, known = path_for(rule, world.case_id)
    body = BODIES.get(rule.endpoint.rpartition(".")[2], {})
    query = QUERIES.get(rule.endpoint.rpartition(".")[2])
    if query:
        path += "?" + query.format(reference=world.reference)
    kwargs: dict[str, object] = {}
    if path.startswith("/api/"):
        if role in world.tokens:
            kwargs["headers"] = {"Authorization": f"Bearer {world.tokens[role]}"}
        if method in ("POST", "PUT", "PATCH"):
            kwargs["json"] = body
    elif method in ("POST", "PUT", "PATCH", "DELETE"):
        form = {k: str(v) for k, v in body.items() if v is not None}
        kwargs["data"] = form | {"csrf_token": csrf_token(world.app, client)}

    response = client.open(path, method=method, **kwargs)  # type: ignore[arg-type]
    status = response.status_code
    response.close()  # a live stream is not read to its end

    assert_security_headers(response)
    where = f"{role} {method} {path} -> {status} {response.headers.get('Location', '')}"
    if expect.outcome == "login":
        assert to_login(response), where
    elif expect.outcome in ("401", "403"):
        assert status == int(expect.outcome), where
    elif expect.outcome == "public":
        assert status < 500 and status not in (401, 403), where
    else:
        assert status < 500 and status not in (401, 403) and not to_login(response), where
        if expect.outcome == "allowed" and method == "GET" and known:
            assert status in (200, 302, 303), where

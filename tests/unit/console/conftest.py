"""The console's fixtures: the app on fakeredis and a fixed clock, the usual staff, a case
offered to Alex, and clients signed in through the real login form.

A file whose tests need something else overrides a fixture beside its tests: the admin
pages run on the real clock, the supervisor and admin pages add Ada (an admin) to `staff`,
the login tests make their own accounts and a client without `with`, and the hostile
rendering test turns `app.testing` off. Files that sign in often opt in to `fast_hashing`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.console.app import create_app
from shared.config import Settings
from shared.domain.officers import Role
from shared.store import Store
from tests.fakes import FakePublisher
from tests.support.cases import add_staff, routed_case
from tests.support.console import Staff, bearer, signed_in, use_cheap_hashing
from tests.support.world import Clock


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters, for files that sign in often and are not about hashing
    (they ask with `pytestmark = pytest.mark.usefixtures("fast_hashing")`)."""
    use_cheap_hashing(monkeypatch)


@pytest.fixture
def clock() -> Clock:
    return Clock(time.time())  # the real time: stream ids follow Redis's clock


@pytest.fixture
def app(settings: Settings, fake_store: Store, publisher: FakePublisher, clock: Clock) -> Flask:
    app = create_app(settings, store=fake_store, publisher=publisher, clock=clock)
    app.config["WTF_CSRF_ENABLED"] = True  # flask-wtf's default, said so for the form tests
    return app


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as c:
        yield c


@pytest.fixture
def staff(fake_store: Store) -> Staff:
    """Alex and Blake, officers in Watford and Stevenage, and Sam, a Watford supervisor —
    always on shift, each with an API token."""
    return Staff(alex=bearer(add_staff(fake_store, "alex", "watford")),
                 blake=bearer(add_staff(fake_store, "blake", "stevenage")),
                 sam=bearer(add_staff(fake_store, "sam", "watford", role=Role.SUPERVISOR)))


@pytest.fixture
def offered(fake_store: Store, settings: Settings, staff: Staff, clock: Clock) -> str:
    """A Watford case (high priority: 30 minutes to accept) offered to Alex."""
    case_id, result = routed_case(fake_store, settings, "watford", now=clock())
    assert result.officer_id == "alex"
    return case_id


@pytest.fixture
def alex(app: Flask, fake_store: Store, staff: Staff) -> FlaskClient:
    return signed_in(app, fake_store, "alex")


@pytest.fixture
def blake(app: Flask, fake_store: Store, staff: Staff) -> FlaskClient:
    return signed_in(app, fake_store, "blake")


@pytest.fixture
def sam(app: Flask, fake_store: Store, staff: Staff) -> FlaskClient:
    return signed_in(app, fake_store, "sam")


@pytest.fixture
def ada(app: Flask, fake_store: Store, staff: Staff) -> FlaskClient:
    """Ada, an admin, signed in — in a file whose `staff` include her."""
    return signed_in(app, fake_store, "ada")

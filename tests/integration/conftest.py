"""Fixtures for tests against the session's real redis-server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shared.config import Settings
from shared.store import Store, redis_client


@pytest.fixture
def real_settings(redis_url: str, tmp_path: Path) -> Settings:
    """Test settings on the real Redis (rate limit high enough never to refuse a test)."""
    return Settings.for_tests(redis_url=redis_url, var_dir=tmp_path, rate_limit="1000 per minute",
                              api_rate_limit="1000 per minute")


@pytest.fixture
def store(real_settings: Settings) -> Store:
    return Store(redis_client(real_settings.redis_url), prefix=real_settings.key_prefix)


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    """A test client of the module's `app` fixture."""
    with app.test_client() as c:
        yield c

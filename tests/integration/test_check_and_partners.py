"""Check my report and partner keys as they run for real: gunicorn workers, redis-server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from shared.store import Store, redis_client
from tests import payloads
from tests.forms import hidden_fields
from tests.support.processes import run_intake

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def intake_url(redis_url: str, tmp_path: Path) -> Iterator[str]:
    yield from run_intake(redis_url, tmp_path, "1000 per minute")


def test_check_my_report_and_a_revoked_partner_key_over_http(intake_url: str, redis_url: str):
    store = Store(redis_client(redis_url))
    key = store.partners.issue("galop", now=0)
    sent = requests.post(f"{intake_url}/api/v1/reports", json=payloads.report(), timeout=10,
                         headers={"Authorization": f"Bearer {key}"})
    assert sent.status_code == 201, sent.text
    ref, code = sent.json()["reference"], sent.json()["check_code"]
    case_id = store.cases.id_for_reference(ref) or ""
    assert (store.cases.get(case_id) or {})["partner"] == "galop"

    with requests.Session() as browser:
        fields = hidden_fields(browser.get(f"{intake_url}/check", timeout=10).text)
        right = browser.post(f"{intake_url}/check", timeout=10,
                             data={**fields, "reference": ref, "check_code": code})
        wrong = browser.post(f"{intake_url}/check", timeout=10,
                             data={**fields, "reference": ref, "check_code": "AAAAA-AAAAA"})
    assert right.status_code == 200 and 'id="status-words">Received<' in right.text
    assert wrong.status_code == 404 and "could not find a report" in wrong.text

    store.partners.revoke("galop", now=1)
    refused = requests.post(f"{intake_url}/api/v1/reports", json=payloads.report(),
                            timeout=10, headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 401 and "not valid" in refused.json()["message"]

"""/api/alerts/ against a real HTTP server standing in for Alertmanager (tests/alertmanager.py).

No test here is marked django_db: the endpoint must not need the database.
"""

from datetime import timedelta

import pytest

from cams.jwt_auth import mint_token
from tests.alertmanager import FakeAlertmanager, gettable_alert
from tests.postgres import free_port


@pytest.fixture
def auth_headers():
    return {"Authorization": f"Bearer {mint_token('alice', timedelta(minutes=5))}"}


@pytest.fixture
def alertmanager(settings):
    fake = FakeAlertmanager(
        [
            gettable_alert("AppLatencyHigh", environment="dev", severity="ticket", starts_at="2026-11-28T01:00:00Z"),
            gettable_alert("EnvironmentDown", environment="dev", severity="page", starts_at="2026-11-28T02:00:00Z",
                           instance="cams-dev"),
            gettable_alert("DiskSpaceLow", environment="dev", severity="ticket", starts_at="2026-11-28T00:30:00Z"),
            gettable_alert("CamsWatchdog", environment="dev", severity="heartbeat", starts_at="2026-11-27T00:00:00Z"),
            gettable_alert("EnvironmentDown", environment="staging", severity="page",
                           starts_at="2026-11-28T00:00:00Z", instance="cams-staging"),
            gettable_alert("MemoryLow", environment="dev", severity="ticket", starts_at="2026-11-28T00:10:00Z",
                           state="suppressed", silenced_by=("5e1f",)),
            gettable_alert("ReadinessFailing", environment="dev", severity="ticket",
                           starts_at="2026-11-28T00:20:00Z", state="suppressed", inhibited_by=("9a0c",)),
        ]
    )
    settings.CAMS_ALERTMANAGER_URL = fake.url
    yield fake
    fake.close()


def test_the_environments_firing_alerts_pages_first_then_oldest(client, auth_headers, alertmanager):
    response = client.get("/api/alerts/", headers=auth_headers)

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["environment"]) == ("ok", "dev")
    assert "detail" not in body
    # Not staging's, nor the silenced or inhibited ones, nor the heartbeat.
    assert [(alert["name"], alert["since"]) for alert in body["alerts"]] == [
        ("EnvironmentDown", "2026-11-28T02:00:00Z"),
        ("DiskSpaceLow", "2026-11-28T00:30:00Z"),
        ("AppLatencyHigh", "2026-11-28T01:00:00Z"),
    ]
    assert body["alerts"][0] == {
        "name": "EnvironmentDown",
        "severity": "page",
        "summary": "EnvironmentDown on cams-dev",
        "instance": "cams-dev",
        "since": "2026-11-28T02:00:00Z",
        "runbook": "https://example.com/docs/monitoring.md#environmentdown",
    }


def test_no_alert_firing(client, auth_headers, alertmanager):
    alertmanager.alerts = []

    body = client.get("/api/alerts/", headers=auth_headers).json()

    assert (body["status"], body["alerts"]) == ("ok", [])


def test_monitoring_not_configured(client, auth_headers, settings):
    settings.CAMS_ALERTMANAGER_URL = ""

    response = client.get("/api/alerts/", headers=auth_headers)

    assert response.status_code == 200
    assert response.json() == {"status": "not_configured", "environment": "dev", "alerts": []}


def test_alertmanager_down(client, auth_headers, settings):
    settings.CAMS_ALERTMANAGER_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    response = client.get("/api/alerts/", headers=auth_headers)

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["alerts"]) == ("unreachable", [])
    assert body["detail"].startswith(settings.CAMS_ALERTMANAGER_URL) and "refused" in body["detail"].lower()


def test_alertmanager_too_slow(client, auth_headers, alertmanager, settings):
    alertmanager.slow = True  # holds the answer until the test ends
    settings.CAMS_ALERTMANAGER_TIMEOUT_SECONDS = 0.2

    response = client.get("/api/alerts/", headers=auth_headers)

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["alerts"]) == ("unreachable", [])
    assert body["detail"].endswith("no answer within 0.2 s")


def test_alertmanager_failing(client, auth_headers, alertmanager):
    alertmanager.fixed_answer = (500, {"code": 500, "message": "cluster not ready"})

    body = client.get("/api/alerts/", headers=auth_headers).json()

    assert body["status"] == "unreachable"
    assert body["detail"].endswith("HTTP 500 Internal Server Error")


def test_something_else_than_alertmanager_answers(client, auth_headers, alertmanager):
    alertmanager.fixed_answer = (200, {"status": "success", "data": []})  # API v1's shape

    body = client.get("/api/alerts/", headers=auth_headers).json()

    assert body["status"] == "unreachable"
    assert "not Alertmanager's list of alerts" in body["detail"]


def test_alerts_need_a_token(client, alertmanager):
    response = client.get("/api/alerts/")

    assert response.status_code == 401

"""Liveness and readiness in-process; tests/test_health_server.py covers a real server, its database probe and
PostgreSQL outages."""

import psycopg2
import pytest
from django.db import connection, connections
from django.db.backends.signals import connection_created

RELEASE = {"id": "20260101T000000Z", "sha": "0123abc", "branch": "main", "deployed_at": "2026-01-01T00:00:00Z"}


@pytest.fixture
def release_settings(settings):
    settings.CAMS_RELEASE_ID = RELEASE["id"]
    settings.CAMS_RELEASE_SHA = RELEASE["sha"]
    settings.CAMS_RELEASE_BRANCH = RELEASE["branch"]
    settings.CAMS_DEPLOYED_AT = RELEASE["deployed_at"]


@pytest.fixture
def connection_attempts(monkeypatch):
    """Every attempt to open a database connection: "psycopg2" per driver call, and each new Django wrapper."""
    attempts = []
    real_connect = psycopg2.connect
    monkeypatch.setattr(psycopg2, "connect", lambda *a, **kw: attempts.append("psycopg2") or real_connect(*a, **kw))

    def on_connection_created(connection, **kwargs):
        attempts.append(connection)

    connection_created.connect(on_connection_created)
    yield attempts
    connection_created.disconnect(on_connection_created)


def test_liveness_reports_process_and_release_without_touching_the_database(
    client, settings, release_settings, connection_attempts
):
    # No django_db mark: pytest-django would also raise on any database access.
    assert settings.DATABASES["default"]["ATOMIC_REQUESTS"] is True

    response = client.get("/health/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    # The suite's own process runs no background probe (tests/postgres_session.py), so nothing is known.
    assert response.json() == {
        "status": "ok", "environment": "dev", "release": RELEASE,
        "database": "unknown", "database_checked_seconds_ago": None,
    }
    assert connection_attempts == []


def test_liveness_answers_head_and_refuses_writes(client):
    assert client.head("/health/").status_code == 200
    assert client.post("/health/").status_code == 405


@pytest.mark.django_db
def test_readiness_ok_on_a_migrated_database(client, release_settings):
    response = client.get("/health/ready/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["release"] == RELEASE
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["migrations"] == {"status": "ok", "pending": 0}


@pytest.mark.django_db
def test_readiness_fails_with_pending_migrations(client, monkeypatch, fresh_database):
    """An empty database is what a release sees before its migrations ran."""
    monkeypatch.setitem(connection.settings_dict, "NAME", fresh_database("unmigrated").rpartition("/")[2])

    response = client.get("/health/ready/")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["migrations"]["status"] == "fail"
    assert body["checks"]["migrations"]["pending"] > 0


@pytest.mark.django_db
def test_readiness_uses_its_own_connection(client, connection_attempts):
    response = client.get("/health/ready/")

    assert response.status_code == 200
    driver_call, probe = connection_attempts
    assert driver_call == "psycopg2"
    assert probe is not connections["default"]
    assert probe.connection is None  # closed again after the check

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils.dateparse import parse_datetime

from cams.models import Deployment
from cams.jwt_auth import mint_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth_headers():
    return {"Authorization": f"Bearer {mint_token('alice', timedelta(minutes=5))}"}


def make_deployments(count: int):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return Deployment.objects.bulk_create(
        Deployment(
            release_id=f"r{index}",
            sha=f"{index:040x}",
            branch="main",
            deployed_by="ci",
            started_at=start + timedelta(hours=index),
            finished_at=start + timedelta(hours=index, seconds=42),
            duration_seconds=42.0,
            outcome=Deployment.Outcome.SUCCESS,
        )
        for index in range(count)
    )


def test_overview_shape(client, auth_headers):
    response = client.get("/api/overview/", headers=auth_headers)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"environment", "release", "database", "subject", "generated_at"}
    assert body["environment"] == "dev"
    assert set(body["release"]) == {"id", "sha", "branch", "deployed_at"}
    assert body["subject"] == "alice"
    assert parse_datetime(body["generated_at"]).tzinfo is not None
    database = body["database"]
    assert set(database) == {"status", "vendor", "name", "server_version", "latency_ms", "migrations_pending"}
    assert database["status"] == "ok"
    assert (database["vendor"], database["name"]) == ("postgresql", connection.settings_dict["NAME"])
    assert database["server_version"].split(".")[0].isdigit()
    assert database["latency_ms"] >= 0
    assert database["migrations_pending"] == 0


def test_overview_reports_an_unreachable_database(client, auth_headers, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "PORT", "1")  # nothing listens there

    response = client.get("/api/overview/", headers=auth_headers)

    assert response.status_code == 200
    database = response.json()["database"]
    assert database["status"] == "unavailable"
    assert database["detail"]
    assert database["server_version"] is None and database["migrations_pending"] is None


def test_deployments_newest_first(client, auth_headers):
    make_deployments(3)

    response = client.get("/api/deployments/", headers=auth_headers)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [row["release_id"] for row in body["results"]] == ["r2", "r1", "r0"]
    assert body["results"][0] == {
        "release_id": "r2",
        "sha": f"{2:040x}",
        "branch": "main",
        "deployed_by": "ci",
        "started_at": "2026-01-01T02:00:00+00:00",
        "finished_at": "2026-01-01T02:00:42+00:00",
        "duration_seconds": 42.0,
        "outcome": "success",
        "message": "",
        "backup": "",
    }


@pytest.mark.parametrize(("query", "returned"), [("", 20), ("?limit=5", 5), ("?limit=1000", 200)])
def test_deployments_limit(client, auth_headers, query, returned):
    make_deployments(205)

    body = client.get(f"/api/deployments/{query}", headers=auth_headers).json()

    assert body["count"] == 205
    assert len(body["results"]) == returned


@pytest.mark.parametrize("limit", ["0", "-1", "ten"])
def test_deployments_rejects_a_bad_limit(client, auth_headers, limit):
    response = client.get(f"/api/deployments/?limit={limit}", headers=auth_headers)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"

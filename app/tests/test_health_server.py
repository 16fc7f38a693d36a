"""gunicorn serving the real WSGI app against a dedicated PostgreSQL that the tests exhaust and stop."""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack

import jwt
import psycopg2
import pytest

from tests.conftest import APP_DIR, DEPLOYED_SECRET_KEY, deployed_env, run_manage, subprocess_env
from tests.postgres import APP_ROLE, PostgresCluster, free_port

# Room for the worker's connection plus a few more; 3 slots stay reserved for the inspecting superuser.
MAX_CONNECTIONS, RESERVED_FOR_SUPERUSER = 6, 3
HOST = "cams-staging.example.com"
PROMPT_SECONDS = 1.0


@pytest.fixture(scope="module")
def cluster():
    cluster = PostgresCluster(max_connections=MAX_CONNECTIONS, superuser_reserved_connections=RESERVED_FOR_SUPERUSER)
    cluster.create()
    yield cluster
    cluster.destroy()


@pytest.fixture(scope="module")
def server(cluster, tmp_path_factory):
    """Base URL of gunicorn running staging settings (SSL redirect on) with one single-threaded worker."""
    env = subprocess_env(
        deployed_env(
            "staging",
            STAGING_DATABASE_URL=cluster.create_database("cams"),
            STAGING_ALLOWED_HOSTS=HOST,
            DATABASE_PROBE_CONNECT_TIMEOUT="2",
        )
    )
    assert run_manage("migrate", "--no-input", env=env).returncode == 0
    port = free_port()
    log = (tmp_path_factory.mktemp("gunicorn") / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "backend.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", "1", "--graceful-timeout", "1"],
        cwd=APP_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            get(base_url, "/health/")
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "gunicorn did not come up"
            time.sleep(0.1)
    yield base_url
    process.terminate()
    process.wait(timeout=10)
    log.close()


def get(base_url: str, path: str, *, token: str | None = None) -> tuple[int, dict, float]:
    """(status, JSON body, seconds taken); API calls claim https as nginx would."""
    headers = {"Host": HOST}
    if token:
        headers |= {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"}
    started = time.monotonic()
    try:
        with urllib.request.urlopen(urllib.request.Request(base_url + path, headers=headers), timeout=10) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, json.loads(body), time.monotonic() - started


@pytest.fixture(scope="module")
def token():
    return jwt.encode({"sub": "ops", "exp": int(time.time()) + 600}, DEPLOYED_SECRET_KEY, algorithm="HS256")


def test_health_and_readiness_when_all_is_well(server, token):
    status, body, _ = get(server, "/health/")
    assert (status, body["status"], body["environment"]) == (200, "ok", "staging")
    status, body, _ = get(server, "/health/ready/")
    assert (status, body["status"]) == (200, "ok")
    assert get(server, "/api/deployments/", token=token)[0] == 200


def test_liveness_with_every_connection_slot_taken(server, cluster, token):
    get(server, "/api/deployments/", token=token)  # the worker now holds its persistent connection
    with ExitStack() as hogs:
        while True:  # take every slot left to non-superusers
            try:
                hogs.enter_context(cluster.connect(user=APP_ROLE))
            except psycopg2.OperationalError as refused:
                assert "reserved" in str(refused) or "too many" in str(refused)
                break
        attempts_before = cluster.connection_attempts()

        for _ in range(5):
            status, body, seconds = get(server, "/health/")
            assert (status, body["status"]) == (200, "ok")
            assert seconds < PROMPT_SECONDS

        assert cluster.connection_attempts() == attempts_before  # not even a refused attempt
        status, body, seconds = get(server, "/health/ready/")
        assert status == 503 and body["checks"]["database"]["status"] == "fail"
        assert seconds < PROMPT_SECONDS
        status, body, _ = get(server, "/api/overview/", token=token)
        assert status == 200 and body["database"]["status"] == "unavailable"


def test_liveness_with_postgresql_stopped(server, cluster, token):
    get(server, "/api/deployments/", token=token)
    with cluster.stopped():
        status, body, seconds = get(server, "/health/")
        assert (status, body["status"]) == (200, "ok")
        assert seconds < PROMPT_SECONDS

        status, body, seconds = get(server, "/health/ready/")
        assert (status, body["status"]) == (503, "fail")
        assert body["checks"]["database"]["status"] == "fail"
        assert seconds < 2 + PROMPT_SECONDS  # within the probe's connect timeout

        status, body, _ = get(server, "/api/overview/", token=token)
        assert status == 200 and body["database"]["status"] == "unavailable"
        status, body, _ = get(server, "/api/deployments/", token=token)
        assert status == 503 and body["error"] == "database_unavailable"

    # Back once the server is: the worker drops its dead connection and reconnects.
    assert get(server, "/health/ready/")[0] == 200
    assert get(server, "/api/deployments/", token=token)[0] == 200

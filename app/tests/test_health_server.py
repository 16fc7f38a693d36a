"""gunicorn serving the real WSGI app against a dedicated PostgreSQL that the tests exhaust, freeze and stop; and the
/health/ database probe in a forked process."""

import json
import math
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack

import jwt
import psycopg2
import pytest

from tests.conftest import APP_DIR, DEPLOYED_SECRET_KEY, deployed_env, run_manage, run_python, subprocess_env
from tests.postgres import APP_ROLE, PostgresCluster, free_port

# Room for the worker's connection plus a few more; 3 slots stay reserved for the inspecting superuser.
MAX_CONNECTIONS, RESERVED_FOR_SUPERUSER = 6, 3
HOST = "cams-staging.example.com"
PROMPT_SECONDS = 1.0  # generous for "answers at once"
# The /health/ probe: every PROBE_INTERVAL s, each attempt given up after PROBE_CONNECT_TIMEOUT s (libpq's minimum).
PROBE_INTERVAL, PROBE_CONNECT_TIMEOUT, PROBE_STATEMENT_TIMEOUT = 0.5, 2, 2
# How long the indicator may take to follow the database: a few intervals plus one probe at its timeouts.
INDICATOR_FOLLOWS_WITHIN = 4 * PROBE_INTERVAL + PROBE_CONNECT_TIMEOUT + PROBE_STATEMENT_TIMEOUT
REQUESTS_FOR = 4 * PROBE_INTERVAL


@pytest.fixture(scope="module")
def cluster():
    cluster = PostgresCluster(max_connections=MAX_CONNECTIONS, superuser_reserved_connections=RESERVED_FOR_SUPERUSER)
    cluster.create()
    yield cluster
    cluster.destroy()


@pytest.fixture(scope="module")
def env(cluster):
    """The server's environment: staging settings on the test cluster, the probe every PROBE_INTERVAL s."""
    return subprocess_env(
        deployed_env(
            "staging",
            STAGING_DATABASE_URL=cluster.create_database("cams"),
            STAGING_ALLOWED_HOSTS=HOST,
            DATABASE_PROBE_CONNECT_TIMEOUT=str(PROBE_CONNECT_TIMEOUT),
            DATABASE_PROBE_STATEMENT_TIMEOUT=str(PROBE_STATEMENT_TIMEOUT),
            DATABASE_HEALTH_PROBE_INTERVAL=str(PROBE_INTERVAL),
        )
    )


@pytest.fixture(scope="module")
def server(env, tmp_path_factory):
    """Base URL of gunicorn running staging settings (SSL redirect on) with one single-threaded worker."""
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


def at_once(base_url: str, path: str) -> tuple[int, dict]:
    """(status, body) of a health endpoint, which must answer at once whatever the database does."""
    status, body, seconds = get(base_url, path)
    assert seconds < PROMPT_SECONDS
    return status, body


def health(base_url: str) -> dict:
    """/health/'s answer, which must be ok and come at once whatever the database does."""
    status, body = at_once(base_url, "/health/")
    assert (status, body["status"]) == (200, "ok")
    return body


def wait_for_database(base_url: str, state: str) -> dict:
    """Polls /health/ until its database indicator says ``state``; each answer must still come at once."""
    deadline = time.monotonic() + INDICATOR_FOLLOWS_WITHIN
    while (body := health(base_url))["database"] != state:
        assert time.monotonic() < deadline, f"/health/ still says {body} after {INDICATOR_FOLLOWS_WITHIN} s"
        time.sleep(0.1)
    return body


def wait_for_readiness(base_url: str, status: int) -> dict:
    """Polls /health/ready/ until it answers ``status``; each answer must come at once."""
    deadline = time.monotonic() + INDICATOR_FOLLOWS_WITHIN
    while (answer := at_once(base_url, "/health/ready/"))[0] != status:
        assert time.monotonic() < deadline, f"/health/ready/ still says {answer} after {INDICATOR_FOLLOWS_WITHIN} s"
        time.sleep(0.1)
    return answer[1]


def probe_attempts_under_requests(base_url: str, cluster: PostgresCluster) -> tuple[int, int, float]:
    """(connection attempts the server saw, requests, seconds) while /health/ and /health/ready/ requests pour in for a
    few intervals."""
    attempts_before, started, requests = cluster.connection_attempts(), time.monotonic(), 0
    while time.monotonic() - started < REQUESTS_FOR:
        health(base_url)
        at_once(base_url, "/health/ready/")
        requests += 2
    return cluster.connection_attempts() - attempts_before, requests, time.monotonic() - started


@pytest.fixture(scope="module")
def token():
    return jwt.encode({"sub": "ops", "exp": int(time.time()) + 600}, DEPLOYED_SECRET_KEY, algorithm="HS256")


def test_health_and_readiness_when_all_is_well(server, token):
    body = wait_for_database(server, "connected")
    assert body["environment"] == "staging"
    assert 0 <= body["database_checked_seconds_ago"] <= INDICATOR_FOLLOWS_WITHIN
    status, body, _ = get(server, "/health/ready/")
    assert (status, body["status"]) == (200, "ok")
    assert get(server, "/api/deployments/", token=token)[0] == 200


def test_readiness_follows_the_schema_from_the_probes_last_result(server, env, cluster):
    """Load balancers check readiness every second or two: it reads the probe's last result, so however many checks
    come only the probe connects, and it still follows the schema within a few intervals: a migration of this
    release reversed makes it 503, migrated again it is 200."""
    wait_for_readiness(server, 200)
    attempts, requests, seconds = probe_attempts_under_requests(server, cluster)
    assert 1 <= attempts <= math.ceil(seconds / PROBE_INTERVAL) + 1, f"{attempts} attempts, {requests} requests"

    assert run_manage("migrate", "cams", "0001", "--no-input", env=env).returncode == 0
    body = wait_for_readiness(server, 503)
    assert body["checks"] == {"database": body["checks"]["database"], "migrations": {"status": "fail", "pending": 1}}
    assert body["checks"]["database"]["status"] == "ok"

    assert run_manage("migrate", "--no-input", env=env).returncode == 0
    wait_for_readiness(server, 200)


def test_liveness_with_every_connection_slot_taken(server, cluster, token):
    get(server, "/api/deployments/", token=token)  # the worker now holds its persistent connection
    wait_for_database(server, "connected")
    with ExitStack() as hogs:
        while True:  # take every slot left to non-superusers
            try:
                hogs.enter_context(cluster.connect(user=APP_ROLE))
            except psycopg2.OperationalError as refused:
                assert "reserved" in str(refused) or "too many" in str(refused)
                break

        # The worker's own connection still works, yet the probe's new ones are refused: the server is full.
        assert wait_for_database(server, "unreachable")["database_checked_seconds_ago"] is not None

        # Requests only read the probe's last result: however many come, only the probe connects, once an interval.
        attempts, requests, seconds = probe_attempts_under_requests(server, cluster)
        assert 1 <= attempts <= math.ceil(seconds / PROBE_INTERVAL) + 1, f"{attempts} attempts, {requests} requests"

        status, body, seconds = get(server, "/health/ready/")
        assert status == 503 and body["checks"]["database"]["status"] == "fail"
        assert seconds < PROMPT_SECONDS
        status, body, _ = get(server, "/api/overview/", token=token)
        assert status == 200 and body["database"]["status"] == "unavailable"

    wait_for_database(server, "connected")


def test_liveness_with_postgresql_stopped(server, cluster, token):
    get(server, "/api/deployments/", token=token)
    wait_for_database(server, "connected")
    with cluster.stopped():
        wait_for_database(server, "unreachable")

        status, body, seconds = get(server, "/health/ready/")
        assert (status, body["status"]) == (503, "fail")
        assert body["checks"]["database"]["status"] == "fail"
        assert seconds < PROBE_CONNECT_TIMEOUT + PROMPT_SECONDS  # within the probe's connect timeout

        status, body, _ = get(server, "/api/overview/", token=token)
        assert status == 200 and body["database"]["status"] == "unavailable"
        status, body, _ = get(server, "/api/deployments/", token=token)
        assert status == 503 and body["error"] == "database_unavailable"

    # Back once the server is: the probe sees it, the worker drops its dead connection and reconnects.
    wait_for_database(server, "connected")
    assert get(server, "/health/ready/")[0] == 200
    assert get(server, "/api/deployments/", token=token)[0] == 200


def test_liveness_while_postgresql_hangs(server, cluster):
    """A server that takes connections but never answers: each probe hangs until its connect timeout, one at a time."""
    wait_for_database(server, "connected")
    attempts_before = cluster.connection_attempts()
    frozen_at = time.monotonic()
    with cluster.frozen():
        assert wait_for_database(server, "unreachable")["database_checked_seconds_ago"] is not None
        while time.monotonic() - frozen_at < 4 * PROBE_CONNECT_TIMEOUT:  # requests keep coming meanwhile
            health(server)
        frozen_for = time.monotonic() - frozen_at
    thawed_at = time.monotonic()
    wait_for_database(server, "connected")
    recovered_in = time.monotonic() - thawed_at
    time.sleep(PROBE_INTERVAL)  # lets the server log what it accepted last

    # Thawed, the server has accepted (and logged) every connection queued meanwhile. Probes that piled up would
    # make one per interval while frozen; one in flight at a time makes one per connect timeout.
    attempts = cluster.connection_attempts() - attempts_before
    while_frozen = math.ceil(frozen_for / PROBE_CONNECT_TIMEOUT) + 1
    since_thawed = math.ceil((recovered_in + PROBE_INTERVAL) / PROBE_INTERVAL) + 1
    assert attempts <= while_frozen + since_thawed, (
        f"{attempts} attempts: frozen {frozen_for:.1f} s, recovered in {recovered_in:.1f} s"
    )
    assert attempts < frozen_for / PROBE_INTERVAL, "indistinguishable from probes piling up: make the freeze longer"


FORKED_PROBE = """
import json, os, sys, threading, time
import django

django.setup()
from cams.database_status import database_indicator

def until_connected():
    deadline = time.monotonic() + float(sys.argv[1])
    while (indicator := database_indicator())["state"] != "connected":
        assert time.monotonic() < deadline, indicator
        time.sleep(0.05)

until_connected()
child = os.fork()
if child == 0:
    code = 1
    try:
        inherited = sorted(thread.name for thread in threading.enumerate())
        first = database_indicator()
        until_connected()
        print(json.dumps({"inherited": inherited, "first": first,
                          "threads": sorted(thread.name for thread in threading.enumerate())}), flush=True)
        code = 0
    finally:
        os._exit(code)
_, status = os.waitpid(child, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_a_forked_process_starts_its_own_probe(fresh_database):
    """gunicorn forks its workers: the parent's probe thread does not exist in a child, which must start its own."""
    env = subprocess_env(deployed_env(
        "staging", STAGING_DATABASE_URL=fresh_database("forked"), DATABASE_HEALTH_PROBE_INTERVAL=str(PROBE_INTERVAL)
    ))
    result = run_python("-c", FORKED_PROBE, str(INDICATOR_FOLLOWS_WITHIN), env=env)
    assert result.returncode == 0, result.stderr
    child = json.loads(result.stdout.splitlines()[-1])  # after the log lines (stdout)
    assert child["inherited"] == ["MainThread"]
    assert child["first"] == {"state": "unknown", "age_seconds": None}  # not the parent's result
    assert child["threads"] == ["MainThread", "cams-database-probe"]

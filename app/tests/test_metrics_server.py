"""/metrics of gunicorn with two workers in prometheus-client's multiprocess mode, run with the role's own gunicorn
settings (roles/cams_app/templates/etc/cams/gunicorn.conf.py.j2, whose child_exit hook drops a dead worker's live
gauges) and a database nobody listens for: scraping needs none.

A sync worker that accepted a connection serves nothing else until its request is complete, so holding an unfinished
request open decides which worker answers the others.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import jinja2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import APP_DIR, deployed_env, subprocess_env
from tests.postgres import free_port

ROLE_GUNICORN_SETTINGS = APP_DIR.parent / "roles/cams_app/templates/etc/cams/gunicorn.conf.py.j2"
HOST = "cams-staging.example.com"
HEALTH_OK = ("django_http_responses_total_by_status_view_method_total",
             (("method", "GET"), ("status", "200"), ("view", "health")))
WORKERS = ("cams_gunicorn_workers", ())


class Gunicorn:
    def __init__(self, directory: Path):
        settings = jinja2.Environment(undefined=jinja2.StrictUndefined)
        settings.filters["comment"] = lambda text: f"#\n# {text}\n#"
        (directory / "gunicorn.conf.py").write_text(
            settings.from_string(ROLE_GUNICORN_SETTINGS.read_text()).render(
                ansible_managed="Ansible managed", cams_app_gunicorn_workers=2, cams_app_gunicorn_threads=1,
                cams_app_gunicorn_timeout=30, cams_app_gunicorn_graceful_timeout=1,
            )
        )
        (directory / "metrics").mkdir()
        env = subprocess_env(
            deployed_env(
                "staging",
                PROMETHEUS_MULTIPROC_DIR=str(directory / "metrics"),
                CAMS_RELEASE_ID="r7", CAMS_RELEASE_SHA="b" * 40, CAMS_RELEASE_BRANCH="staging",
                CAMS_DEPLOYED_AT="2026-11-28T01:02:03Z",
            )
        )
        self.port = free_port()
        self.log = (directory / "gunicorn.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "backend.wsgi:application",
             "--config", str(directory / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{self.port}"],
            cwd=APP_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()

    def get(self, path: str) -> tuple[int, bytes]:
        """Over plain http, as nginx's metrics listener passes it on."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers={"Host": HOST})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()

    def metrics(self) -> dict:
        status, body = self.get("/metrics")
        assert status == 200
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body.decode())
            for sample in family.samples
        }

    def worker_pids(self) -> set[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return {int(pid) for pid in children.split()}

    @contextmanager
    def one_worker_held(self):
        """Keeps the worker that accepts an unfinished request busy with it; on leaving, it gets answered."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as held:
            held.sendall(f"GET /health/ HTTP/1.0\r\nHost: {HOST}\r\n".encode())
            yield
            held.sendall(b"\r\n")
            answer = b"".join(iter(lambda: held.recv(65536), b""))
        assert answer.split(b" ", 2)[1] == b"200", answer


def wait_for(condition, what: str, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return
        except OSError:  # not listening yet
            pass
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.1)


@pytest.fixture
def gunicorn(tmp_path):
    server = Gunicorn(tmp_path)
    wait_for(lambda: server.metrics().get(WORKERS) == 2, "both workers up")
    yield server
    server.stop()


def test_counts_add_up_across_workers(gunicorn):
    with gunicorn.one_worker_held():
        for _ in range(3):  # all answered by the other worker
            assert gunicorn.get("/health/")[0] == 200
    # ... and the held one answered the fourth.

    samples = gunicorn.metrics()

    assert samples[HEALTH_OK] == 4
    assert samples[WORKERS] == 2
    assert samples[("cams_release_info", (("branch", "staging"), ("release_id", "r7"), ("sha", "b" * 40)))] == 1
    assert samples[("cams_release_deployed_timestamp_seconds", ())] == 1795827723


def test_dead_workers_keep_their_counts_and_stop_counting_as_live(gunicorn):
    for _ in range(5):
        gunicorn.get("/health/")
    dead = gunicorn.worker_pids()

    for pid in dead:
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: len(gunicorn.worker_pids() - dead) == 2, "two new workers")
    with gunicorn.one_worker_held():  # once another answers, both new workers have loaded the app
        assert gunicorn.get("/health/")[0] == 200
        samples = gunicorn.metrics()

    assert samples[WORKERS] == 2
    assert samples[HEALTH_OK] == 5 + 1


def test_the_database_probe_reaches_the_metrics(gunicorn):
    """Nobody answers on the database URL: the first /health/ probe's result reaches the gauge the alerts read."""
    wait_for(lambda: gunicorn.metrics().get(("cams_database_reachable", ())) == 0, "cams_database_reachable 0")

"""The local development stack (docker-compose.yml via scripts/compose.sh) comes up and serves a real API.

Runs in its own compose project on a free port, so a developer's `camsdev` stack and its data are untouched.
"""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "scripts" / "compose.sh"
HEALTH_WAIT_SECONDS = 180


def docker_unavailable_reason() -> str | None:
    if not shutil.which("docker") or not shutil.which("docker-compose"):
        return "docker or docker-compose not installed (scripts/ensure-docker.sh)"
    try:
        reachable = subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        reachable = False
    return None if reachable else "docker engine not reachable (scripts/ensure-docker.sh)"


SKIP_REASON = docker_unavailable_reason()
pytestmark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


class Stack:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "COMPOSE_PROJECT_NAME": f"camstest{uuid.uuid4().hex[:8]}",
            "CAMS_COMPOSE_APP_PORT": str(self.port),
        }

    def compose(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(COMPOSE), *args], env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail=60").stdout


@pytest.fixture(scope="module")
def stack(request):
    stack = Stack()

    def down():
        result = stack.compose("down", "-v", "--remove-orphans")
        assert result.returncode == 0, f"compose down failed:\n{result.stderr}"

    request.addfinalizer(down)
    # A cold build (apt in two images) takes a few minutes; cached, seconds.
    up = stack.compose("up", "-d", "--build", timeout=900)
    assert up.returncode == 0, f"compose up failed:\n{up.stdout}\n{up.stderr}"

    deadline = time.monotonic() + HEALTH_WAIT_SECONDS
    last = None
    while time.monotonic() < deadline:
        try:
            last = get(f"{stack.url}/health/")
        except (OSError, ValueError) as error:  # not listening yet, or reset while runserver starts
            last = error
        else:
            if last[0] == 200 and last[1].get("status") == "ok":
                return stack
        time.sleep(2)
    pytest.fail(f"{stack.url}/health/ not ok after {HEALTH_WAIT_SECONDS} s (last: {last!r})\n{stack.logs()}")


def test_health_reports_the_dev_environment(stack):
    status, body = get(f"{stack.url}/health/")
    assert status == 200
    assert body["status"] == "ok" and body["environment"] == "dev"


def test_ready_means_database_reachable_and_migrated(stack):
    status, body = get(f"{stack.url}/health/ready/")
    assert status == 200, body
    assert body["checks"]["migrations"]["pending"] == 0


def test_api_needs_a_token_minted_in_the_app_container(stack):
    minted = stack.compose("exec", "-T", "web-dev", "python", "manage.py", "mint_token", "--subject", "compose-test")
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()

    status, body = get(f"{stack.url}/api/overview/", token)
    assert status == 200, body
    assert body["subject"] == "compose-test"
    assert body["database"]["status"] == "ok" and body["database"]["vendor"] == "postgresql"

    status, body = get(f"{stack.url}/api/overview/")
    assert status == 401, body

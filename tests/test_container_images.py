"""The container path's prod profile (docker-compose.yml, docker/backend.Dockerfile, docker/frontend.Dockerfile).

Builds both images from the local bases (scripts/compose.sh: no registry here), brings the prod profile up in a
compose project and on ports of its own, and checks it from outside: /health/ through the frontend's nginx, the SPA
fallback, cache rules and headers, the backend as a non-root gunicorn that stops on SIGTERM, data surviving
`down`/`up`, and the entrypoint giving up on a database that never comes. Everything it created goes at the end.
"""

import json
import os
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import jinja2
import pytest
import yaml
from test_compose import COMPOSE, ROOT, SKIP_REASON, free_port

HEALTH_WAIT_SECONDS = 180
ROLE_HEADERS = ROOT / "roles/cams_web/templates/etc/nginx/snippets/cams-security-headers.conf.j2"
IMAGE_HEADERS = ROOT / "docker/nginx/cams-security-headers.conf"
needs_docker = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")


def fetch(url: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class ProdStack:
    def __init__(self, directory: Path):
        suffix = uuid.uuid4().hex[:8]
        self.tag = f"test-{suffix}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env_file = directory / ".env"
        secret = secrets.token_urlsafe(50)
        example = (ROOT / ".env.example").read_text()
        env_file.write_text(
            re.sub(r"^POSTGRES_PASSWORD=.*$", f"POSTGRES_PASSWORD={secrets.token_hex(16)}", example, flags=re.M)
            .replace("SECRET_KEY=change-me-to-a-long-random-value-of-at-least-fifty-characters", f"SECRET_KEY={secret}")
        )
        self.env_args = ["--env-file", str(env_file)]
        self.env = {
            **os.environ,
            "COMPOSE_PROJECT_NAME": f"camsimg{suffix}",
            "COMPOSE_PROFILES": "prod",
            "CAMS_ENV_FILE": str(env_file),
            "CAMS_FRONTEND_ENV_FILE": str(ROOT / ".env.frontend.example"),
            "CAMS_IMAGE_TAG": self.tag,
            "CAMS_FRONTEND_PORT": str(self.port),
            "CAMS_WEB_PORT": str(free_port()),
        }

    def compose(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(COMPOSE), *self.env_args, *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def manage(self, *args: str) -> str:
        result = self.compose("exec", "-T", "web", "python", "manage.py", *args)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail=40").stdout

    def wait_healthy(self) -> dict:
        deadline = time.monotonic() + HEALTH_WAIT_SECONDS
        last = None
        while time.monotonic() < deadline:
            try:
                status, _, body = fetch(f"{self.url}/health/")
                last = (status, body[:200])
                if status == 200 and json.loads(body).get("status") == "ok":
                    return json.loads(body)
            except (OSError, ValueError) as error:  # not listening yet, or nginx's 502 page
                last = error
            time.sleep(2)
        pytest.fail(f"{self.url}/health/ not ok after {HEALTH_WAIT_SECONDS} s (last: {last!r})\n{self.logs()}")


@pytest.fixture(scope="module")
def stack(request, tmp_path_factory):
    stack = ProdStack(tmp_path_factory.mktemp("prod-env"))

    def remove():
        down = stack.compose("down", "--volumes", "--remove-orphans", "--rmi", "local")
        # --no-prune keeps the untagged build layers: the next run's build is cached, like the dev stack's.
        images = [f"cams/backend:{stack.tag}", f"cams/frontend:{stack.tag}"]
        subprocess.run(["docker", "rmi", "--no-prune", *images], capture_output=True, timeout=120)
        assert down.returncode == 0, f"compose down failed:\n{down.stderr}"

    request.addfinalizer(remove)
    # Cold: apt in the build stages and npm ci, a few minutes; cached, seconds.
    up = stack.compose("up", "-d", "--build", timeout=1200)
    assert up.returncode == 0, f"compose up failed:\n{up.stdout}\n{up.stderr}"
    stack.wait_healthy()
    return stack


@needs_docker
def test_health_answers_through_the_frontends_nginx_from_prod_settings(stack):
    status, headers, body = fetch(f"{stack.url}/health/")
    assert status == 200
    assert json.loads(body)["environment"] == "prod"
    assert headers["X-Frame-Options"] == "DENY"


@needs_docker
def test_spa_fallback_and_cache_rules(stack):
    status, headers, page = fetch(f"{stack.url}/deployments/some/client/route")
    assert status == 200
    assert b'<div id="root">' in page
    assert headers["Cache-Control"] == "no-cache"
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")

    bundle = re.search(rb'src="(/assets/[^"]+\.js)"', page).group(1).decode()
    status, headers, _ = fetch(f"{stack.url}{bundle}")
    assert status == 200
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"

    status, _, _ = fetch(f"{stack.url}/assets/missing.js")
    assert status == 404


@needs_docker
def test_static_files_come_from_the_backends_collectstatic(stack):
    status, headers, _ = fetch(f"{stack.url}/static/admin/css/base.css")
    assert status == 200
    assert headers["Cache-Control"] == "public, max-age=86400"


@needs_docker
def test_backend_is_gunicorn_as_pid_1_and_not_root(stack):
    uid = stack.compose("exec", "-T", "web", "id", "-u")
    assert uid.returncode == 0, uid.stderr
    assert uid.stdout.strip() != "0"
    command = stack.compose("exec", "-T", "web", "cat", "/proc/1/cmdline")
    assert "gunicorn" in command.stdout


@needs_docker
def test_data_survives_down_and_up_and_gunicorn_stops_on_sigterm(stack):
    row_id = stack.manage(
        "record_deployment", "--release-id", stack.tag, "--sha", "0" * 40, "--branch", "main",
        "--deployed-by", "test_container_images", "--outcome", "success",
    )
    assert row_id

    # SIGTERM reaches gunicorn (PID 1): it exits 0 at once rather than being killed (137) after the grace period.
    stop = stack.compose("stop", "--timeout", "30", "web")
    assert stop.returncode == 0, stop.stderr
    container = stack.compose("ps", "--all", "-q", "web").stdout.strip()
    exit_code = subprocess.run(
        ["docker", "inspect", "--format", "{{.State.ExitCode}}", container], capture_output=True, text=True
    )
    assert exit_code.stdout.strip() == "0", stack.logs()

    down = stack.compose("down")
    assert down.returncode == 0, down.stderr
    up = stack.compose("up", "-d", timeout=300)
    assert up.returncode == 0, up.stderr
    stack.wait_healthy()

    token = stack.manage("mint_token", "--subject", "test_container_images")
    status, _, body = fetch(f"{stack.url}/api/deployments/", token)
    assert status == 200, body
    assert stack.tag in [row["release_id"] for row in json.loads(body)["results"]]


@needs_docker
def test_entrypoint_gives_up_on_a_database_that_never_comes(stack):
    run = stack.compose(
        "run", "--rm", "-T", "--no-deps",
        "-e", "PROD_DATABASE_URL=postgres://cams:cams@no-such-db.invalid:5432/cams",
        "-e", "CAMS_DB_WAIT_TIMEOUT=3",
        "web",
        timeout=120,
    )
    assert run.returncode != 0
    assert "database no-such-db.invalid:5432/cams not ready after 3 s" in run.stdout + run.stderr


def security_headers(text: str) -> list[str]:
    return sorted(line.strip() for line in text.splitlines() if line.strip().startswith("add_header"))


def test_image_nginx_sends_the_vms_security_headers():
    """Both nginx configurations send the same headers; the VMs' with the role's defaults, HSTS aside (plain http)."""
    defaults = yaml.safe_load((ROOT / "roles/cams_web/defaults/main.yml").read_text())
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    environment.filters["comment"] = lambda text: f"# {text}"
    rendered = environment.from_string(ROLE_HEADERS.read_text()).render(
        ansible_managed="managed",
        cams_web_content_security_policy=defaults["cams_web_content_security_policy"],
        cams_web_hsts_max_age=0,
    )
    assert security_headers(IMAGE_HEADERS.read_text()) == security_headers(rendered)

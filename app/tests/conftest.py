import os
import subprocess
import sys
import uuid
from contextlib import closing
from pathlib import Path

import psycopg2
import pytest

from tests.postgres_session import SCRUBBED_NAMES, SCRUBBED_PREFIXES

APP_DIR = Path(__file__).resolve().parent.parent
TEST_RUN_MARKERS = ("PYTEST_CURRENT_TEST", "PYTEST_VERSION", "DJANGO_USE_TEST_DATABASE")

# What a realistic staging/prod host provides (the database URL comes per test).
DEPLOYED_SECRET_KEY = "k7Qw9zR2vX4bN6mP8sT1yU3iO5aD7fG9hJ2kL4zX6cV8bN0mQ2wE4rT6yU8iO0pA"


def deployed_env(environment: str, **overrides) -> dict:
    prefix = environment.upper()
    return {
        "DJANGO_SETTINGS_MODULE": f"backend.settings.{environment}",
        "SECRET_KEY": DEPLOYED_SECRET_KEY,
        f"{prefix}_DATABASE_URL": "postgres://cams@127.0.0.1:1/cams",
        f"{prefix}_ALLOWED_HOSTS": f"cams-{environment}.example.com",
        f"{prefix}_CSRF_TRUSTED_ORIGINS": f"https://cams-{environment}.example.com",
        **overrides,
    }


def subprocess_env(overrides: dict, *, test_run: bool = False) -> dict:
    """The environment for a child process: none of the suite's own CAMS settings, only ``overrides``.

    pytest's markers (PYTEST_VERSION, ...) are dropped unless ``test_run``, so a child behaves
    like a process on a host unless the test asks otherwise.
    """
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(SCRUBBED_PREFIXES) and name not in SCRUBBED_NAMES and name not in TEST_RUN_MARKERS
    }
    if test_run:
        environment["PYTEST_VERSION"] = os.environ["PYTEST_VERSION"]
    environment.update(overrides)
    return environment


def query(url: str, sql: str) -> list[tuple]:
    with closing(psycopg2.connect(url)) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def run_python(*args: str, env: dict, cwd: Path = APP_DIR, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def run_manage(*args: str, env: dict, cwd: Path = APP_DIR) -> subprocess.CompletedProcess:
    return run_python("manage.py", *args, env=env, cwd=cwd)


@pytest.fixture
def fresh_database(postgres_cluster):
    """Factory: a new empty database on the shared cluster, returning its URL."""

    def create(label: str = "db") -> str:
        return postgres_cluster.create_database(f"{label}_{uuid.uuid4().hex[:8]}")

    return create

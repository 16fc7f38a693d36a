"""A process that knows it is part of a test run writes only to the test database, never the live one."""

import pytest

from tests.conftest import query, run_manage, subprocess_env

TEST_RUN_SIGNALS = {
    "PYTEST_VERSION": ({}, True),
    "PYTEST_CURRENT_TEST": ({"PYTEST_CURRENT_TEST": "tests/test_x.py::test_y (call)"}, False),
    "DJANGO_USE_TEST_DATABASE": ({"DJANGO_USE_TEST_DATABASE": "1"}, False),
}


def tables_in(url: str) -> set[str]:
    return {name for (name,) in query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def deployments_in(url: str) -> list[str]:
    return [release_id for (release_id,) in query(url, "SELECT release_id FROM cams_deployment")]


def migrate_and_record(env: dict, *, test_run: bool):
    env = subprocess_env(env, test_run=test_run)
    for command in (
        ["migrate", "--no-input"],
        ["record_deployment", "--release-id", "r1", "--sha", "abc", "--branch", "main",
         "--deployed-by", "ci", "--outcome", "success"],
    ):
        result = run_manage(*command, env=env)
        assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("environment", ["dev", "staging"])
@pytest.mark.parametrize("signal", TEST_RUN_SIGNALS)
def test_writes_go_to_the_test_database_only(fresh_database, environment, signal):
    live, test = fresh_database("live"), fresh_database("test")
    prefix = environment.upper()
    extra_env, test_run = TEST_RUN_SIGNALS[signal]
    env = {
        "DJANGO_SETTINGS_MODULE": f"backend.settings.{environment}",
        "SECRET_KEY": "x" * 50,
        f"{prefix}_ALLOWED_HOSTS": "localhost",
        f"{prefix}_DATABASE_URL": live,
        f"{prefix}_TEST_DATABASE_URL": test,
        **extra_env,
    }

    migrate_and_record(env, test_run=test_run)

    assert tables_in(live) == set()
    assert deployments_in(test) == ["r1"]


def test_outside_a_test_run_the_same_commands_write_to_the_live_database(fresh_database):
    """Control: the setup above really would reach the live database without the test-run signal."""
    live, test = fresh_database("live"), fresh_database("test")

    migrate_and_record({"DEV_DATABASE_URL": live, "DEV_TEST_DATABASE_URL": test}, test_run=False)

    assert deployments_in(live) == ["r1"]
    assert tables_in(test) == set()

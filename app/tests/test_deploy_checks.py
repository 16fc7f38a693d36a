import json

import pytest

from tests.conftest import deployed_env, run_manage, subprocess_env


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_check_deploy_passes_with_a_realistic_environment(environment):
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=subprocess_env(deployed_env(environment)))
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_is_clean_for_dev():
    result = run_manage("check", "--fail-level", "WARNING", env=subprocess_env({}))
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_a_short_jwt_secret():
    env = deployed_env("prod", JWT_AUTH_SECRET="too-short")
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=subprocess_env(env))
    assert result.returncode != 0
    assert "cams.W001" in result.stderr


@pytest.mark.parametrize("options, environment", [(["--deploy"], "prod"), ([], "dev")])
def test_prepare_release_collects_the_static_files_then_checks(tmp_path, options, environment):
    env = deployed_env(environment) if options else {}
    result = run_manage("prepare_release", *options, env=subprocess_env({**env, "STATIC_ROOT": str(tmp_path)}))
    assert result.returncode == 0, result.stderr
    assert "static files copied" in result.stdout and "no issues" in result.stdout
    assert (tmp_path / "admin" / "css" / "base.css").is_file()


def test_prepare_release_fails_on_a_deployment_warning(tmp_path):
    env = deployed_env("prod", JWT_AUTH_SECRET="too-short", STATIC_ROOT=str(tmp_path))
    result = run_manage("prepare_release", "--deploy", env=subprocess_env(env))
    assert result.returncode != 0
    assert "cams.W001" in result.stderr


def test_prepare_release_lists_the_migrations_the_database_lacks(tmp_path, fresh_database):
    env = subprocess_env({"DEV_DATABASE_URL": fresh_database("prepare"), "STATIC_ROOT": str(tmp_path)})

    def unapplied_migrations():
        result = run_manage("prepare_release", "--unapplied-migrations", env=env)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.splitlines()[-1])["unapplied_migrations"]

    lacking = unapplied_migrations()
    assert lacking.index("cams.0001_initial") < lacking.index("cams.0002_deployment_backup")
    assert run_manage("migrate", "cams", "0001", "--no-input", env=env).returncode == 0
    assert "cams.0001_initial" not in unapplied_migrations()
    assert run_manage("migrate", "--no-input", env=env).returncode == 0
    assert unapplied_migrations() == []

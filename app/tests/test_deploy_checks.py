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

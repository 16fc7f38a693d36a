"""Each settings module is loaded in a child process, with exactly the environment a host would give it."""

import json

import pytest

from tests.conftest import deployed_env, run_python, subprocess_env

DUMP_SETTINGS = """
import importlib, json, sys
settings = importlib.import_module(sys.argv[1])
database = settings.DATABASES["default"]
print(json.dumps({
    "environment": settings.CAMS_ENVIRONMENT,
    "debug": settings.DEBUG,
    "database": {key: database[key] for key in
                 ("NAME", "HOST", "PORT", "OPTIONS", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "ATOMIC_REQUESTS")},
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "csrf_trusted_origins": settings.CSRF_TRUSTED_ORIGINS,
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "session_cookie": [settings.SESSION_COOKIE_NAME, settings.SESSION_COOKIE_SECURE],
}))
"""


IMPROPERLY_CONFIGURED = "django.core.exceptions.ImproperlyConfigured"


def load_settings(environment: str, env: dict, *, test_run: bool = False, import_pytest: bool = False):
    """(settings as a dict, None) on success, (None, stderr) when the module refused to load."""
    script = ("import pytest\n" if import_pytest else "") + DUMP_SETTINGS
    result = run_python("-c", script, f"backend.settings.{environment}", env=subprocess_env(env, test_run=test_run))
    if result.returncode:
        return None, result.stderr
    return json.loads(result.stdout), None


def url(name: str, host: str = "db.internal") -> str:
    return f"postgres://cams@{host}:5432/{name}"


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_environment_name_is_the_settings_module_suffix(environment):
    loaded, error = load_settings(environment, deployed_env(environment))
    assert error is None
    assert loaded["environment"] == environment


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_deployed_environment_reads_only_its_own_variables(environment):
    others = {"DEV", "STAGING", "PROD"} - {environment.upper()}
    foreign = {}
    for other in others:
        foreign |= {
            f"{other}_DATABASE_URL": url(f"{other.lower()}_db"),
            f"{other}_ALLOWED_HOSTS": f"cams-{other.lower()}.example.com",
            f"{other}_CSRF_TRUSTED_ORIGINS": f"https://cams-{other.lower()}.example.com",
        }
    own = deployed_env(environment, **{f"{environment.upper()}_DATABASE_URL": url(f"{environment}_db")})

    loaded, error = load_settings(environment, foreign | own)

    assert error is None
    assert loaded["database"]["NAME"] == f"{environment}_db"
    assert loaded["allowed_hosts"] == [f"cams-{environment}.example.com"]
    assert loaded["csrf_trusted_origins"] == [f"https://cams-{environment}.example.com"]


def test_prod_does_not_fall_back_to_another_environments_database():
    env = deployed_env("prod", DEV_DATABASE_URL=url("dev_db"), STAGING_DATABASE_URL=url("staging_db"))
    del env["PROD_DATABASE_URL"]

    loaded, error = load_settings("prod", env)

    assert loaded is None
    assert "ImproperlyConfigured" in error and "PROD_DATABASE_URL" in error


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_deployed_environment_ignores_a_shared_database_url(environment):
    own = f"{environment.upper()}_DATABASE_URL"
    env = deployed_env(environment, DATABASE_URL=url("shared_db"))
    del env[own]

    loaded, error = load_settings(environment, env)

    assert loaded is None
    # The message names only the environment's own variable, not the ignored shared one.
    assert error.strip().splitlines()[-1] == f"{IMPROPERLY_CONFIGURED}: Set the {own} environment variable."


def test_dev_ignores_a_shared_database_url():
    loaded, error = load_settings("dev", {"DATABASE_URL": url("shared_db")})

    assert error is None
    assert loaded["database"]["NAME"] == "cams"


@pytest.mark.parametrize("environment", ["staging", "prod"])
@pytest.mark.parametrize("variable", ["SECRET_KEY", "{prefix}_DATABASE_URL", "{prefix}_ALLOWED_HOSTS"])
def test_deployed_environment_fails_fast_without_required_variable(environment, variable):
    variable = variable.format(prefix=environment.upper())
    env = deployed_env(environment)
    del env[variable]

    loaded, error = load_settings(environment, env)

    assert loaded is None
    assert "ImproperlyConfigured" in error and variable in error


def test_empty_secret_key_counts_as_missing():
    loaded, error = load_settings("prod", deployed_env("prod", SECRET_KEY="  "))
    assert loaded is None
    assert "SECRET_KEY" in error


def test_dev_defaults():
    loaded, error = load_settings("dev", {})

    assert error is None
    assert loaded["debug"] is True
    assert loaded["allowed_hosts"] == ["localhost", "127.0.0.1", "[::1]"]
    assert (loaded["database"]["HOST"], loaded["database"]["NAME"]) == ("127.0.0.1", "cams")
    assert loaded["ssl_redirect"] is False
    assert loaded["session_cookie"] == ["sessionid", False]


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_deployed_environment_is_hardened(environment):
    loaded, _ = load_settings(environment, deployed_env(environment))

    assert loaded["debug"] is False
    assert loaded["ssl_redirect"] is True
    assert loaded["session_cookie"] == ["__Secure-sessionid", True]


def test_database_connection_limits_default_and_override():
    defaults, _ = load_settings("prod", deployed_env("prod"))
    tuned, _ = load_settings("prod", deployed_env("prod", DATABASE_CONNECT_TIMEOUT="3", DATABASE_CONN_MAX_AGE="0"))

    assert defaults["database"]["OPTIONS"]["connect_timeout"] == 5
    assert defaults["database"]["CONN_MAX_AGE"] == 60
    assert defaults["database"]["CONN_HEALTH_CHECKS"] is True
    assert defaults["database"]["ATOMIC_REQUESTS"] is True
    assert tuned["database"]["OPTIONS"]["connect_timeout"] == 3
    assert tuned["database"]["CONN_MAX_AGE"] == 0


TEST_RUN_SIGNALS = {
    "PYTEST_CURRENT_TEST": {"env": {"PYTEST_CURRENT_TEST": "tests/test_x.py::test_y (call)"}},
    "PYTEST_VERSION": {"env": {}, "test_run": True},
    "DJANGO_USE_TEST_DATABASE": {"env": {"DJANGO_USE_TEST_DATABASE": "1"}},
    "pytest imported": {"env": {}, "import_pytest": True},
}


@pytest.mark.parametrize("signal", TEST_RUN_SIGNALS)
@pytest.mark.parametrize("environment", ["dev", "staging"])
def test_test_run_uses_the_test_database(environment, signal):
    prefix = environment.upper()
    env = deployed_env(
        environment, **{f"{prefix}_DATABASE_URL": url("live_db"), f"{prefix}_TEST_DATABASE_URL": url("test_db")}
    )
    how = TEST_RUN_SIGNALS[signal]

    loaded, error = load_settings(
        environment,
        env | how["env"],
        test_run=how.get("test_run", False),
        import_pytest=how.get("import_pytest", False),
    )

    assert error is None
    assert loaded["database"]["NAME"] == "test_db"


def test_outside_a_test_run_the_test_database_url_is_ignored():
    env = {"DEV_DATABASE_URL": url("live_db"), "DEV_TEST_DATABASE_URL": url("test_db")}
    loaded, _ = load_settings("dev", env)
    assert loaded["database"]["NAME"] == "live_db"


@pytest.mark.parametrize("signal", TEST_RUN_SIGNALS)
def test_prod_refuses_to_load_during_a_test_run(signal):
    how = TEST_RUN_SIGNALS[signal]
    env = deployed_env("prod", PROD_TEST_DATABASE_URL=url("test_db")) | how["env"]

    loaded, error = load_settings(
        "prod", env, test_run=how.get("test_run", False), import_pytest=how.get("import_pytest", False)
    )

    assert loaded is None
    assert "ImproperlyConfigured" in error and "test run" in error


SERVE_REQUESTS = """
import json
import django
django.setup()
from django.test import Client
client = Client()
own, https = "cams-prod.example.com", {"HTTP_X_FORWARDED_PROTO": "https"}
api = client.get("/api/overview/", HTTP_HOST=own, **https)
print(json.dumps({
    "own_host_health_over_http": client.get("/health/", HTTP_HOST=own).status_code,
    "staging_host": client.get("/health/", HTTP_HOST="cams-staging.example.com").status_code,
    "dev_host": client.get("/health/", HTTP_HOST="localhost").status_code,
    "api_over_http": client.get("/api/overview/", HTTP_HOST=own).status_code,
    "api_over_https": api.status_code,
    "hsts": api.headers.get("Strict-Transport-Security"),
}))
"""


def test_prod_serves_only_its_own_host_and_redirects_all_but_health_to_https():
    env = deployed_env("prod", STAGING_ALLOWED_HOSTS="cams-staging.example.com", DEV_ALLOWED_HOSTS="localhost")
    result = run_python("-c", SERVE_REQUESTS, env=subprocess_env(env))

    assert result.returncode == 0, result.stderr
    statuses = json.loads(result.stdout.strip().splitlines()[-1])
    assert statuses == {
        "own_host_health_over_http": 200,
        "staging_host": 400,
        "dev_host": 400,
        "api_over_http": 301,
        "api_over_https": 401,
        "hsts": "max-age=31536000; includeSubDomains; preload",
    }

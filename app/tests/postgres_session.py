"""pytest plugin (``-p tests.postgres_session`` in pytest.ini): the session's own PostgreSQL.

It must act before pytest-django imports the settings, which happens in pytest-django's
pytest_load_initial_conftests, before any conftest.py is read: so this plugin wraps that
hook. It scrubs CAMS-related variables from the developer's shell (the suite sets its own)
and points DEV_TEST_DATABASE_URL at a fresh cluster, so tests never reach a real database.
"""

import os

import pytest

from tests.postgres import PostgresCluster

SCRUBBED_PREFIXES = ("DEV_", "STAGING_", "PROD_", "DATABASE_", "DJANGO_", "JWT_AUTH_", "CAMS_")
SCRUBBED_NAMES = {"SECRET_KEY", "STATIC_ROOT"}

cluster_key = pytest.StashKey[PostgresCluster]()


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    options = early_config.known_args_namespace
    if options.help or options.version:
        return (yield)

    for name in [name for name in os.environ if name.startswith(SCRUBBED_PREFIXES) or name in SCRUBBED_NAMES]:
        del os.environ[name]
    cluster = PostgresCluster().create()
    early_config.stash[cluster_key] = cluster
    early_config.add_cleanup(cluster.destroy)
    os.environ["DEV_TEST_DATABASE_URL"] = cluster.url("cams")
    # No /health/ probe thread in the suite's own process: it would connect to the test databases between and during
    # tests. The tests of the probe run it where it runs on hosts, in a real server (tests/test_health_server.py).
    os.environ["DATABASE_HEALTH_PROBE_INTERVAL"] = "0"
    try:
        return (yield)
    except BaseException:
        cluster.destroy()  # the session never started, so its cleanups will not run
        raise


@pytest.fixture(scope="session")
def postgres_cluster(request) -> PostgresCluster:
    """The session's shared cluster (keep it running; stop only dedicated clusters)."""
    return request.config.stash[cluster_key]

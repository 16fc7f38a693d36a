"""What the app knows about its database, for the health endpoints and the dashboard."""

import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor


def connection_state(alias: str = DEFAULT_DB_ALIAS) -> str:
    """This thread's connection as last seen, read without any I/O.

    Liveness must not depend on the database, so no connect and no round trip (is_usable()
    would send SELECT 1, which hangs on an overloaded server). Not being connected is normal
    between requests and says nothing about the server.
    """
    wrapper = connections[alias]
    if wrapper.connection is None:
        return "not_connected"
    # psycopg2's flag is the last known state (0 open, 1 closed, 2 broken), not a probe.
    if getattr(wrapper.connection, "closed", False):
        return "disconnected"
    if wrapper.errors_occurred:
        return "error"
    return "connected"


@dataclass(frozen=True)
class DatabaseProbe:
    vendor: str
    name: str
    server_version: str | None = None
    latency_ms: float | None = None
    migrations_pending: int | None = None
    detail: str | None = None

    @property
    def available(self) -> bool:
        return self.detail is None


def probe_database(alias: str = DEFAULT_DB_ALIAS) -> DatabaseProbe:
    """Check the database on a fresh, short-lived connection with tight timeouts.

    A separate connection keeps the probe honest (a worker's pooled connection may outlive
    the server's ability to accept new ones) and leaves the request's connection alone.
    """
    configured = connections[alias]
    probe = type(configured)(_probe_settings(configured.settings_dict), alias)
    vendor, name = probe.vendor, str(probe.settings_dict["NAME"])
    try:
        probe.ensure_connection()
        started = time.monotonic()
        with probe.cursor() as cursor:
            cursor.execute("SELECT 1")
        latency_ms = round((time.monotonic() - started) * 1000, 2)
        executor = MigrationExecutor(probe)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        return DatabaseProbe(
            vendor=vendor,
            name=name,
            server_version=".".join(map(str, probe.get_database_version())),
            latency_ms=latency_ms,
            migrations_pending=len(pending),
        )
    except DatabaseError as error:
        return DatabaseProbe(vendor=vendor, name=name, detail=str(error).strip() or type(error).__name__)
    finally:
        probe.close()


def _probe_settings(settings_dict: dict) -> dict:
    options = dict(settings_dict.get("OPTIONS", {}))
    options["connect_timeout"] = settings.CAMS_DATABASE_PROBE_CONNECT_TIMEOUT
    statement_timeout_ms = int(settings.CAMS_DATABASE_PROBE_STATEMENT_TIMEOUT * 1000)
    options["options"] = f"{options.get('options', '')} -c statement_timeout={statement_timeout_ms}".strip()
    return {**settings_dict, "OPTIONS": options, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False}

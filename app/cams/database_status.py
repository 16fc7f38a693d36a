"""What the app knows about its database, for the health endpoints, the metrics and the dashboard."""

import functools
import logging
import os
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

log = logging.getLogger(__name__)

CONNECTED, UNREACHABLE, UNKNOWN = "connected", "unreachable", "unknown"


def database_indicator() -> dict:
    """What this process's background probe last saw: {"state": connected|unreachable|unknown, "age_seconds"}.

    Reads memory only, so it never blocks and never connects; the first call in a process starts
    the probe. "unknown" until the probe's first result, once that result is stale (a probe hung
    past its timeouts), or when the probe is off; age_seconds is None without any result.
    """
    state, _, age = _background_probe.last()
    return {"state": state, "age_seconds": age}


def checked_database() -> tuple[str, "DatabaseProbe | None"]:
    """(connected|unreachable|unknown, the probe it stands on) for readiness and the dashboard.

    With the background probe running, its last result, from memory: a request never connects, so the load
    balancers' checks and the deployer's gate cost microseconds. With it off (interval 0), a probe now.
    """
    if settings.CAMS_DATABASE_HEALTH_PROBE_INTERVAL <= 0:
        probe = probe_database()
        return probe.state, probe
    state, probe, _ = _background_probe.last()
    return state, probe


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

    @property
    def state(self) -> str:
        return CONNECTED if self.available else UNREACHABLE


def probe_database(alias: str = DEFAULT_DB_ALIAS) -> DatabaseProbe:
    """Check the database on a fresh, short-lived connection with tight timeouts.

    A separate connection keeps the probe honest (a worker's pooled connection may outlive
    the server's ability to accept new ones) and leaves the request's connection alone.
    Pending migrations are this release's (its migration graph, read once per process) not yet
    recorded in the database: one query.
    """
    configured = connections[alias]
    vendor, name = configured.vendor, str(configured.settings_dict["NAME"])
    try:
        probe = _probe_connection(alias)
        try:
            probe.ensure_connection()
            started = time.monotonic()
            with probe.cursor() as cursor:
                cursor.execute("SELECT 1")
            latency_ms = round((time.monotonic() - started) * 1000, 2)
            return DatabaseProbe(
                vendor=vendor,
                name=name,
                server_version=".".join(map(str, probe.get_database_version())),
                latency_ms=latency_ms,
                migrations_pending=len(_release_migrations() - _applied_migrations(probe)),
            )
        finally:
            probe.close()
    except Exception as error:  # whatever the failure, the database did not answer (and the probe thread goes on)
        return DatabaseProbe(vendor=vendor, name=name, detail=" ".join(str(error).split()) or type(error).__name__)


def _applied_migrations(probe) -> set:
    """The migrations recorded in the database, read on the probe's connection (MigrationRecorder's queries would
    take the thread's own connection, which no request cycle closes once it dies)."""
    table = MigrationRecorder.Migration._meta.db_table
    with probe.cursor() as cursor:
        if table not in probe.introspection.table_names(cursor):
            return set()
        cursor.execute(f"SELECT app, name FROM {probe.ops.quote_name(table)}")
        return set(cursor.fetchall())


@functools.cache
def _release_migrations() -> frozenset:
    """Every migration of this release's code, as (app, name): fixed for the process's life."""
    return frozenset(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def _probe_connection(alias: str):
    """A new, not yet opened connection to ``alias`` with the probe's timeouts; the caller closes it."""
    configured = connections[alias]
    return type(configured)(_probe_settings(configured.settings_dict), alias)


def _probe_settings(settings_dict: dict) -> dict:
    options = dict(settings_dict.get("OPTIONS", {}))
    options["connect_timeout"] = settings.CAMS_DATABASE_PROBE_CONNECT_TIMEOUT
    statement_timeout_ms = int(settings.CAMS_DATABASE_PROBE_STATEMENT_TIMEOUT * 1000)
    options["options"] = f"{options.get('options', '')} -c statement_timeout={statement_timeout_ms}".strip()
    return {**settings_dict, "OPTIONS": options, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False}


class _BackgroundProbe:
    """One daemon thread per process that opens a probe connection every interval and keeps the last result.

    Requests only read the result, so their number never changes the probe's rate. The thread probes
    one at a time: a probe that hangs delays the next one instead of piling up connections.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._pid = None  # the process whose thread is running; a forked child (gunicorn worker) starts its own
        self._result = None  # (DatabaseProbe, time.monotonic() when it ended)
        # A lock copied while another thread held it would never be released in the child.
        os.register_at_fork(after_in_child=self._replace_lock)

    def last(self) -> tuple[str, DatabaseProbe | None, float | None]:
        """(state, the probe it stands on or None while unknown, age in seconds or None without any result)."""
        interval = settings.CAMS_DATABASE_HEALTH_PROBE_INTERVAL
        if interval <= 0:
            return UNKNOWN, None, None
        self._start_once_per_process(interval)
        result = self._result
        if result is None:
            return UNKNOWN, None, None
        probe, ended = result
        age = time.monotonic() - ended
        if age > _stale_after(interval):
            return UNKNOWN, None, age
        return probe.state, probe, age

    def _start_once_per_process(self, interval: float):
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._result = None  # the parent's result says nothing about this process's probe
            threading.Thread(target=self._run, args=(interval,), name="cams-database-probe", daemon=True).start()
            self._pid = os.getpid()

    def _replace_lock(self):
        self._lock = threading.Lock()

    def _run(self, interval: float):
        next_start = time.monotonic()
        while True:
            time.sleep(max(0.0, next_start - time.monotonic()))
            next_start = time.monotonic() + interval
            probe = probe_database()
            if self._result is None or self._result[0].available != probe.available:
                log.log(logging.INFO if probe.available else logging.WARNING, "database %s%s",
                        probe.state, f": {probe.detail}" if probe.detail else "")
            self._result = (probe, time.monotonic())


def _stale_after(interval: float) -> float:
    """Seconds after which a result is too old to stand for the database: two intervals plus a probe at its timeouts."""
    return 2 * interval + settings.CAMS_DATABASE_PROBE_CONNECT_TIMEOUT + settings.CAMS_DATABASE_PROBE_STATEMENT_TIMEOUT


_background_probe = _BackgroundProbe()

"""Throwaway PostgreSQL clusters for the test suite: initdb + pg_ctl in a temp dir on a free port.

PostgreSQL refuses to run as root, so when the suite runs as root the server binaries run as
the ``postgres`` system user, in a temp dir it owns. Authentication is ``trust`` and the
server listens on 127.0.0.1 only.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import psycopg2

SERVER_USER = "postgres"
APP_ROLE = "cams"  # not a superuser, so superuser_reserved_connections stay free for inspection


def server_bin_dir() -> Path:
    """The newest installed PostgreSQL's binaries (Debian: /usr/lib/postgresql/<major>/bin), else PATH."""
    if override := os.environ.get("CAMS_TEST_PG_BINDIR"):
        return Path(override)
    debian_dirs = sorted(
        (path for path in Path("/usr/lib/postgresql").glob("*/bin") if (path / "initdb").exists()),
        key=lambda path: int(re.sub(r"\D", "", path.parent.name) or 0),
    )
    if debian_dirs:
        return debian_dirs[-1]
    if initdb := shutil.which("initdb"):
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql, or set CAMS_TEST_PG_BINDIR.")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresCluster:
    def __init__(self, *, max_connections: int = 100, superuser_reserved_connections: int = 3):
        self.bin_dir = server_bin_dir()
        self.max_connections = max_connections
        self.superuser_reserved_connections = superuser_reserved_connections
        self.root = Path(tempfile.mkdtemp(prefix="cams-test-pg-"))
        self.data_dir = self.root / "data"
        self.log_file = self.root / "server.log"
        self.port = free_port()
        self._as_server_user = ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []
        if self._as_server_user:
            shutil.chown(self.root, user=SERVER_USER, group=SERVER_USER)

    # lifecycle ------------------------------------------------------------------------------

    def create(self) -> "PostgresCluster":
        """initdb, start, and add the unprivileged application role."""
        self._run("initdb", "-D", self.data_dir, "-U", SERVER_USER, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
        self.start()
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(f"CREATE ROLE {APP_ROLE} LOGIN CREATEDB")
        return self

    def start(self):
        server_options = " ".join(
            f"-c {name}={value}"
            for name, value in {
                "port": self.port,
                "listen_addresses": "127.0.0.1",
                "unix_socket_directories": self.root,
                "max_connections": self.max_connections,
                "superuser_reserved_connections": self.superuser_reserved_connections,
                "log_connections": "on",  # lets tests count connection attempts server-side
                "fsync": "off",
                "synchronous_commit": "off",
                "full_page_writes": "off",
            }.items()
        )
        self._run("pg_ctl", "-D", self.data_dir, "-l", self.log_file, "-o", server_options, "-w", "-t", "30", "start")

    def stop(self):
        self._run("pg_ctl", "-D", self.data_dir, "-m", "immediate", "-w", "stop")

    @contextmanager
    def stopped(self):
        self.stop()
        try:
            yield
        finally:
            self.start()

    @contextmanager
    def frozen(self):
        """The postmaster stopped with SIGSTOP: the kernel still queues new connections, nobody answers them.

        Backends already running keep serving. On SIGCONT the postmaster accepts the queued connections
        (and logs them), those their clients gave up on included.
        """
        postmaster_pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster_pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(postmaster_pid, signal.SIGCONT)

    def destroy(self):
        if (self.data_dir / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # access -----------------------------------------------------------------------------------

    def url(self, database: str = "postgres", user: str = APP_ROLE) -> str:
        return f"postgres://{user}@127.0.0.1:{self.port}/{database}"

    @contextmanager
    def connect(self, database: str = "postgres", user: str = SERVER_USER):
        """An autocommit connection, closed on exit (psycopg2's own ``with`` only ends a transaction)."""
        connection = psycopg2.connect(host="127.0.0.1", port=self.port, dbname=database, user=user, connect_timeout=5)
        connection.autocommit = True
        try:
            yield connection
        finally:
            connection.close()

    def create_database(self, name: str) -> str:
        """A new empty database owned by the application role; returns its URL."""
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}" OWNER {APP_ROLE}')
        return self.url(name)

    def connection_attempts(self) -> int:
        """Connections the server has accepted a socket for so far, refused ones included."""
        return self.log_file.read_text().count("connection received:")

    def _run(self, program: str, *args):
        command = [*self._as_server_user, str(self.bin_dir / program), *map(str, args)]
        subprocess.run(command, check=True, capture_output=True, cwd=self.root, timeout=60)

"""A throw-away PostgreSQL server for tests and benchmarks: initdb, pg_ctl, a URL, then gone.

It uses Debian's server binaries (``apt-get install postgresql``), listens on a free
loopback port only, and asks for a password (scram-sha-256), so that redaction is
tested against a real server. initdb refuses to run as root: as root, the cluster runs
as the unprivileged ``postgres`` user that Debian's package creates.

Used by ``tests/conftest.py`` (the ``postgres`` fixture) and ``bench/workers.py``; it
needs nothing but the standard library and psycopg::

    with PostgresServer() as pg:
        url = pg.create_database("study")  # postgresql://unitsearch:...@127.0.0.1:PORT/study
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PostgresServer", "find_bindir", "MISSING_REASON"]

MISSING_REASON = "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql, or set UNITSEARCH_PG_BINDIR"
COMMAND_TIMEOUT = 60  # seconds for initdb, pg_ctl start and stop


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl: $UNITSEARCH_PG_BINDIR, Debian's newest, or PATH."""
    candidates = [os.environ.get("UNITSEARCH_PG_BINDIR", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0, reverse=True)
    initdb = shutil.which("initdb")
    candidates += [str(Path(initdb).parent)] if initdb else []
    for c in candidates:
        if c and (Path(c) / "initdb").is_file() and (Path(c) / "pg_ctl").is_file():
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, stopped and removed on exit.

    Args:
        user: The superuser the URLs log in as.
        password: Its password (every TCP login must give it).
        durable: Keep fsync and synchronous commit on, as a real server would (benchmarks).
            Tests turn them off: the data is thrown away anyway.
        max_connections: The server's connection limit (the connection-budget tests lower it).
    """

    def __init__(self, *, user: str = "unitsearch", password: str = "pg-test-secret", durable: bool = False, max_connections: int = 200) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise FileNotFoundError(MISSING_REASON)
        self.bindir, self.user, self.password, self.durable, self.max_connections = bindir, user, password, durable, max_connections
        self.port = 0
        self.root: Path | None = None
        self._opts: list[str] = []
        self._run_as: list[str] = []

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> PostgresServer:
        self.root = Path(tempfile.mkdtemp(prefix="unitsearch-pg-"))
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root, but there is no 'postgres' user to run the cluster as (apt-get install postgresql creates it)") from None
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._run_as = ["runuser", "-u", "postgres", "--"]
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._run_as:
            os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
        self._pg(
            "initdb", "-D", str(self.data), "-U", self.user, f"--pwfile={pwfile}", "--auth=scram-sha-256",
            "-E", "UTF8", "--no-locale", "--no-sync",
        )
        pwfile.unlink()
        opts = [f"-c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} -c max_connections={self.max_connections}", "-c shared_buffers=32MB"]
        if not self.durable:
            opts.append("-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._opts = opts
        for attempt in range(3):  # a free port can be taken between probing and binding
            self.port = _free_port()
            try:
                self._start_server()
                return self
            except RuntimeError:
                if attempt == 2:
                    raise
        return self

    def _start_server(self) -> None:
        self._pg("pg_ctl", "start", "-D", str(self.data), "-w", "-t", "30", "-l", str(self.root / "log"), "-o", " ".join([*self._opts, f"-p {self.port}"]))

    def halt(self) -> None:
        """Stop the server as a restart or a failover does (open connections are cut), keeping its data."""
        self._pg("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "30")

    def resume(self) -> None:
        """Start the halted server again, on the same port."""
        self._start_server()

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            if (self.data / "postmaster.pid").exists():
                self._pg("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", check=False)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- use ---------------------------------------------------------------------------------

    @property
    def data(self) -> Path:
        assert self.root is not None, "server not started"
        return self.root / "data"

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        return f"postgresql://{self.user}:{self.password if password is None else password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create database ``name`` (dropping an older one) and return its URL."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log(self) -> str:
        path = self.root / "log" if self.root else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    def _pg(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [*self._run_as, str(self.bindir / tool), *args]
        # cwd: the unprivileged user may not be allowed into the caller's working directory.
        proc = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, env={**os.environ, "LC_ALL": "C"})
        if check and proc.returncode != 0:
            raise RuntimeError(f"{tool} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}\n{self.log()[-2000:]}")
        return proc

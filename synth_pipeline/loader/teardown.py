"""`teardown`: remove an environment, or one loaded schema, and leave nothing behind.

- Environment (`--env dev --confirm dev`): the name must be typed back. Blocks new connections,
  terminates existing ones, drops the database, terminates the roles' sessions elsewhere, drops
  the three roles, deletes `.secrets/.env.dev` (and `.secrets/` when empty), forgets the
  environment's loads in the local registry and appends to the audit log.
- Schema (`--target-url URL --schema NAME --confirm NAME`): only a schema the loader created
  (synth_meta.managed_schemas) in a provisioned perf database or an isolated `synth_` schema.
  Terminates sessions holding locks on its tables, drops it, keeps its runs in
  synth_meta.load_runs as history (torn_down_at), and drops synth_meta itself when it was the
  last managed schema of a non-provisioned database.
Server-wide logging settings made by provision (ALTER SYSTEM) are left as they are: they are
server configuration, not environment data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from synth_pipeline.errors import SynthError
from synth_pipeline.infra.dsn import connect, database_exists, redact_dsn, with_database
from synth_pipeline.loader import audit, meta, registry, secrets_store
from synth_pipeline.loader.safety import META_SCHEMA, check_managed_target, database_for_env, refuse_source, roles_for_env

LOCK_TIMEOUT = "10s"


@dataclass
class TeardownResult:
    target: str
    dropped: list[str] = field(default_factory=list)


def _confirm(expected: str, confirm: str | None, what: str) -> None:
    if confirm != expected:
        raise SynthError(f"refused: --confirm must repeat the {what} name exactly (--confirm {expected})")


def teardown_env(env: str, confirm: str | None, admin_url: str, *, source_url: str | None = None,
                 source_urls: Iterable[str] = ()) -> TeardownResult:
    database = database_for_env(env)
    _confirm(env, confirm, "environment")
    refuse_source(with_database(admin_url, database), source_urls, source_url=source_url)
    roles = roles_for_env(env)
    result = TeardownResult(target=f"environment {env}")
    with connect(admin_url, purpose="admin", autocommit=True) as conn:
        if conn.info.dbname == database:
            raise SynthError(f"--admin-url must not point at {database} itself (it is being dropped); use the postgres database")
        if database_exists(conn, database):
            db = sql.Identifier(database)
            conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(db))
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                         (database,))
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(db))
            result.dropped.append(f"database {database}")
        for role in roles.all():
            if not conn.execute("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)", (role,)).fetchone()[0]:
                continue
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
            try:
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
            except psycopg.errors.DependentObjectsStillExist as exc:
                raise SynthError(f"cannot drop role {role}: it still owns objects or privileges outside {database} "
                                 f"({str(exc).strip().splitlines()[0]}); remove them and re-run teardown") from None
            result.dropped.append(f"role {role}")
    if secrets_store.remove_env_file(env):
        result.dropped.append(f"secrets file {secrets_store.env_file(env)}")
    registry.forget(env=env)
    audit.append("teardown", {"env": env, "database": database, "dropped": result.dropped, "server": redact_dsn(admin_url)})
    return result


def teardown_schema(target_url: str, schema: str, confirm: str | None, *, source_url: str | None = None,
                    reason: str = "teardown", source_urls: Iterable[str] = ()) -> TeardownResult:
    _confirm(schema, confirm, "schema")
    refuse_source(target_url, source_urls, source_url=source_url)
    result = TeardownResult(target=f"schema {schema}")
    with connect(target_url, purpose="perf target", autocommit=True) as conn:
        env = check_managed_target(conn, schema)
        conn.execute("SELECT set_config('lock_timeout', %s, false)", (LOCK_TIMEOUT,))
        _terminate_lock_holders(conn, schema)
        with conn.transaction():
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            meta.forget_schema(conn, schema)
            result.dropped.append(f"schema {schema}")
            if env is None and not meta.managed_schema_names(conn):
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(META_SCHEMA)))
                result.dropped.append(f"schema {META_SCHEMA} (no managed schema left)")
    registry.forget(dsn=target_url, schema=schema)
    audit.append(reason, {"schema": schema, "env": env, "target": registry.dsn_without_password(target_url),
                          "dropped": result.dropped})
    return result


def _terminate_lock_holders(conn: psycopg.Connection, schema: str) -> None:
    """Best effort: a role may only signal its own sessions; lock_timeout bounds the rest."""
    try:
        conn.execute(
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND l.pid <> pg_backend_pid() "
            "GROUP BY l.pid",
            (schema,),
        )
    except psycopg.errors.InsufficientPrivilege:
        pass

"""Which targets the loader and teardown may touch, and the refusals (exit 2, one line).

The rule (docs/perf-database.md):
- a *provisioned perf database*: `chat_perf_dev`, `chat_perf_staging` or `chat_perf` carrying the
  `synth_meta.environment` row written by `provision`; any valid schema name may be loaded there;
- or an *isolated schema* in any other database: its name must start with `synth_` (so a
  load can only ever create or drop `synth_*` schemas next to someone else's data);
- never the production source: a target equal to SYNTH_SOURCE_URL, --source-url or any other named
  source (the Dagster `source_db` resource; same host, port and database) is refused outright;
- never a schema holding tables the loader did not create (`synth_meta.managed_schemas` lists
  what it created; an existing empty schema is adopted), nor functions, types, operators or
  collations (the loader creates none; `meta.schema_foreign_objects`).
Schema names are lowercase identifiers (`^[a-z_][a-z0-9_]{0,62}$`), always quoted with
`psycopg.sql.Identifier` anyway.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg

from synth_pipeline.errors import SynthError
from synth_pipeline.infra.dsn import redact_dsn, same_database

ENVIRONMENTS: dict[str, str] = {"dev": "chat_perf_dev", "staging": "chat_perf_staging", "perf": "chat_perf"}
ISOLATED_SCHEMA_PREFIX = "synth_"
META_SCHEMA = "synth_meta"
RESERVED_SCHEMAS = frozenset({META_SCHEMA, "public", "information_schema"})
SOURCE_URL_ENV = "SYNTH_SOURCE_URL"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Roles:
    owner: str
    app: str
    readonly: str

    def all(self) -> tuple[str, str, str]:
        return (self.owner, self.app, self.readonly)


def database_for_env(env: str) -> str:
    try:
        return ENVIRONMENTS[env]
    except KeyError:
        raise SynthError(f"unknown environment {env!r}; use one of: {', '.join(ENVIRONMENTS)}") from None


def roles_for_env(env: str) -> Roles:
    """Per-environment role names, so several environments coexist on one server."""
    database = database_for_env(env)
    return Roles(owner=f"{database}_owner", app=f"{database}_app", readonly=f"{database}_readonly")


def validate_schema_name(name: str) -> str:
    if not isinstance(name, str) or not _SCHEMA_NAME.match(name):
        raise SynthError(f"schema name {name!r} is invalid; use lowercase letters, digits and _ (at most 63, not starting with a digit)")
    if name in RESERVED_SCHEMAS or name.startswith("pg_"):
        raise SynthError(f"schema name {name!r} is reserved; choose another, e.g. synth_dev")
    return name


def refuse_source(target_dsn: str, source_urls: Iterable[str] | str | None = (), *, source_url: str | None = None) -> None:
    """Refuse a target that is a production source (DESIGN.md section 8): `source_url` (--source-url,
    whose default is SYNTH_SOURCE_URL) and every one of `source_urls` (e.g. the Dagster `source_db`)."""
    if isinstance(source_urls, str):
        source_urls = (source_urls,)
    sources = (source_url or os.environ.get(SOURCE_URL_ENV), *(source_urls or ()))
    if any(source and same_database(target_dsn, source) for source in sources):
        raise SynthError(
            f"refused: target {redact_dsn(target_dsn)} is the production source database ({SOURCE_URL_ENV}, --source-url "
            "or the source_db resource); "
            "load into a provisioned perf database instead"
        )


def provisioned_env(conn: psycopg.Connection) -> str | None:
    """The environment name if the connected database is a provisioned perf database."""
    database = conn.info.dbname
    if database not in ENVIRONMENTS.values():
        return None
    with conn.transaction():
        if conn.execute("SELECT to_regclass('synth_meta.environment')").fetchone()[0] is None:
            return None
        row = conn.execute("SELECT env FROM synth_meta.environment WHERE database = %s", (database,)).fetchone()
    return row[0] if row else None


def check_target(conn: psycopg.Connection, schema: str) -> str | None:
    """Refuse unless the target is a provisioned perf database or an isolated `synth_` schema.

    Returns the environment name (None for an isolated schema).
    """
    validate_schema_name(schema)
    env = provisioned_env(conn)
    if env is None and not schema.startswith(ISOLATED_SCHEMA_PREFIX):
        raise SynthError(
            f"refused: database {conn.info.dbname!r} is not a provisioned perf database "
            f"({', '.join(ENVIRONMENTS.values())}; run synth-pipeline provision) and schema {schema!r} is not an isolated "
            f"schema (its name must start with {ISOLATED_SCHEMA_PREFIX!r})"
        )
    return env


def check_managed_target(conn: psycopg.Connection, schema: str) -> str | None:
    """`check_target`, then: `schema` is one the loader created (synth_meta.managed_schemas).

    Returns the provisioned environment (None for an isolated `synth_` schema)."""
    from synth_pipeline.loader.meta import require_managed  # meta imports this module

    env = check_target(conn, schema)
    require_managed(conn, schema)
    return env

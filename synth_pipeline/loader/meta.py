"""The `synth_meta` tables: managed schemas, load runs, the shard ledger (sql/meta.sql).

Functions here run in the caller's transaction; they never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from synth_pipeline.loader.safety import META_SCHEMA
from synth_pipeline.errors import SynthError
from synth_pipeline.schema.logical import TABLE_ORDER

if TYPE_CHECKING:
    from synth_pipeline.schema.mapping import Mapping

# Serialises the first-time creation of synth_meta by concurrent loaders (any constant works).
_META_CREATE_LOCK = 0x53594E5448  # "SYNTH"


def sql_file(name: str) -> str:
    return resources.files("synth_pipeline.loader").joinpath("sql", name).read_text()


def ensure_meta(conn: psycopg.Connection) -> None:
    """Create synth_meta and its tables if missing (idempotent)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_META_CREATE_LOCK,))
        conn.execute(sql_file("meta.sql"))


def meta_exists(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT to_regclass('synth_meta.managed_schemas') IS NOT NULL").fetchone()[0]


@dataclass(frozen=True)
class ManagedSchema:
    schema_name: str
    mapping_name: str
    mapping_path: str
    mapping_sha256: str
    manifest_sha256: str
    expected_rows: dict[str, int]
    state: str


def managed_schema(conn: psycopg.Connection, schema: str) -> ManagedSchema | None:
    if not meta_exists(conn):
        return None
    row = conn.execute(
        "SELECT schema_name, mapping_name, mapping_path, mapping_sha256, manifest_sha256, expected_rows, state "
        "FROM synth_meta.managed_schemas WHERE schema_name = %s",
        (schema,),
    ).fetchone()
    return ManagedSchema(*row) if row else None


def managed_schema_names(conn: psycopg.Connection) -> list[str]:
    if not meta_exists(conn):
        return []
    return [r[0] for r in conn.execute("SELECT schema_name FROM synth_meta.managed_schemas ORDER BY 1")]


def require_managed(conn: psycopg.Connection, schema: str) -> ManagedSchema:
    managed = managed_schema(conn, schema)
    if managed is None:
        raise SynthError(
            f"schema {schema!r} in database {conn.info.dbname!r} was not created by the loader (not in synth_meta.managed_schemas); "
            "check --schema and --target-url"
        )
    return managed


def register_schema(conn: psycopg.Connection, managed: ManagedSchema) -> None:
    conn.execute(
        "INSERT INTO synth_meta.managed_schemas (schema_name, mapping_name, mapping_path, mapping_sha256, manifest_sha256, "
        "expected_rows, state) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (managed.schema_name, managed.mapping_name, managed.mapping_path, managed.mapping_sha256, managed.manifest_sha256,
         Jsonb(managed.expected_rows), managed.state),
    )


def set_schema_state(conn: psycopg.Connection, schema: str, state: str) -> None:
    conn.execute("UPDATE synth_meta.managed_schemas SET state = %s WHERE schema_name = %s", (state, schema))


def schema_tables(conn: psycopg.Connection, schema: str) -> list[str]:
    """Every relation in `schema` (tables, views, sequences...), by name."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') ORDER BY 1",
            (schema,),
        )
    ]


# Objects other than relations that a schema may hold and DROP SCHEMA ... CASCADE would take with
# it. The loader creates none of them: only tables (whose row types and their array types are
# excluded here; a composite type made by CREATE TYPE has a pg_class row of kind 'c' and counts).
_FOREIGN_OBJECTS = """
SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = n.oid
UNION ALL
SELECT 'type ' || format_type(t.oid, NULL) FROM pg_type t
WHERE t.typnamespace = n.oid
  AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')
  AND NOT EXISTS (SELECT 1 FROM pg_type e JOIN pg_class c ON c.oid = e.typrelid
                  WHERE e.oid = t.typelem AND e.typarray = t.oid AND c.relkind <> 'c')
UNION ALL
SELECT 'operator ' || o.oid::regoperator::text FROM pg_operator o WHERE o.oprnamespace = n.oid
"""
# Catalogs whose objects are named by one column and belong to a schema by another:
# (what, catalog, name column, namespace column).
_NAMED_CATALOGS = [
    ("collation", "pg_collation", "collname", "collnamespace"),
    ("operator class", "pg_opclass", "opcname", "opcnamespace"),
    ("operator family", "pg_opfamily", "opfname", "opfnamespace"),
    ("conversion", "pg_conversion", "conname", "connamespace"),
    ("statistics", "pg_statistic_ext", "stxname", "stxnamespace"),
    ("text search configuration", "pg_ts_config", "cfgname", "cfgnamespace"),
    ("text search dictionary", "pg_ts_dict", "dictname", "dictnamespace"),
    ("text search parser", "pg_ts_parser", "prsname", "prsnamespace"),
    ("text search template", "pg_ts_template", "tmplname", "tmplnamespace"),
]
_FOREIGN_OBJECTS += "".join(
    f"UNION ALL\nSELECT '{what} ' || quote_ident(x.{name}) FROM {catalog} x WHERE x.{namespace} = n.oid\n"
    for what, catalog, name, namespace in _NAMED_CATALOGS
)


def schema_foreign_objects(conn: psycopg.Connection, schema: str) -> list[str]:
    """Functions, procedures, types, operators, operator classes and families, collations,
    conversions, extended statistics and text search objects in `schema` (none of which the loader
    creates), e.g. `function synth_x.f(integer)`, sorted. Relations are `schema_tables`."""
    return sorted(
        r[0] for r in conn.execute(
            f"SELECT o.* FROM pg_namespace n CROSS JOIN LATERAL ({_FOREIGN_OBJECTS}) AS o(what) WHERE n.nspname = %s",
            (schema,),
        )
    )


def table_counts(conn: psycopg.Connection, schema: str, mapping: Mapping) -> dict[str, int]:
    """`count(*)` of every table of `mapping` in `schema`, keyed by logical name in TABLE_ORDER."""
    counts = {}
    for table in TABLE_ORDER:
        if mapping.has_table(table):
            statement = sql.SQL("SELECT count(*) FROM {}").format(mapping.table(schema, table))
            counts[table] = int(conn.execute(statement).fetchone()[0])
    return counts


def schema_exists(conn: psycopg.Connection, schema: str) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s)", (schema,)).fetchone()[0]


def loaded_partitions(conn: psycopg.Connection, schema: str) -> dict[str, dict[str, int]]:
    """partition name -> rows per table, for partitions committed to `schema`."""
    return {
        name: dict(rows)
        for name, rows in conn.execute(
            "SELECT partition, rows FROM synth_meta.shard_ledger WHERE schema_name = %s", (schema,)
        )
    }


def record_partition(conn: psycopg.Connection, schema: str, partition: str, run_id: str, manifest_sha256: str,
                     rows: dict[str, int]) -> None:
    conn.execute(
        "INSERT INTO synth_meta.shard_ledger (schema_name, partition, run_id, manifest_sha256, rows) VALUES (%s, %s, %s, %s, %s)",
        (schema, partition, run_id, manifest_sha256, Jsonb(rows)),
    )


def fail_interrupted_runs(conn: psycopg.Connection, schema: str) -> list[str]:
    """Mark RUNNING runs of `schema` FAILED: the caller holds the schema lock, so they are dead."""
    rows = conn.execute(
        "UPDATE synth_meta.load_runs SET status = 'FAILED', finished_at = now(), "
        "errors = errors || %s WHERE schema_name = %s AND status = 'RUNNING' RETURNING run_id",
        (Jsonb(["interrupted: the loader stopped before finishing (killed or crashed)"]), schema),
    ).fetchall()
    return [r[0] for r in rows]


def insert_run(conn: psycopg.Connection, record: dict[str, Any]) -> None:
    columns = list(record)
    conn.execute(
        sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier(META_SCHEMA, "load_runs"),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        ),
        [_adapt(record[c]) for c in columns],
    )


def update_run(conn: psycopg.Connection, run_id: str, **fields: Any) -> None:
    assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in fields)
    conn.execute(
        sql.SQL("UPDATE {} SET {} WHERE run_id = %s").format(sql.Identifier(META_SCHEMA, "load_runs"), assignments),
        [*(_adapt(v) for v in fields.values()), run_id],
    )


def _adapt(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, (dict, list)) else value


def latest_run(conn: psycopg.Connection, schema: str) -> dict[str, Any] | None:
    cur = conn.execute(
        "SELECT * FROM synth_meta.load_runs WHERE schema_name = %s ORDER BY started_at DESC, run_id DESC LIMIT 1", (schema,)
    )
    row = cur.fetchone()
    return dict(zip([d.name for d in cur.description], row)) if row else None


def schema_expiry(conn: psycopg.Connection) -> list[tuple[str, Any, str]]:
    """(schema, latest expires_at, latest run_id) for every managed schema."""
    if not meta_exists(conn):
        return []
    return conn.execute(
        "SELECT DISTINCT ON (m.schema_name) m.schema_name, r.expires_at, r.run_id FROM synth_meta.managed_schemas m "
        "JOIN synth_meta.load_runs r ON r.schema_name = m.schema_name "
        "ORDER BY m.schema_name, r.started_at DESC, r.run_id DESC"
    ).fetchall()


def forget_schema(conn: psycopg.Connection, schema: str) -> None:
    """After a schema is dropped: keep its runs as history, drop its ledger and registration."""
    conn.execute("UPDATE synth_meta.load_runs SET torn_down_at = now() WHERE schema_name = %s AND torn_down_at IS NULL", (schema,))
    conn.execute("DELETE FROM synth_meta.shard_ledger WHERE schema_name = %s", (schema,))
    conn.execute("DELETE FROM synth_meta.managed_schemas WHERE schema_name = %s", (schema,))

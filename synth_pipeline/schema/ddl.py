"""DDL for the logical schema under a mapping, split into the phases a bulk loader needs.

Phases: `create_tables` (no constraints: fastest COPY), then `primary_key_statements`,
`unique_statements`, `foreign_key_statements`, `index_statements`, all built after the data.
`create_logical_schema` runs every phase at once (empty schemas, tests, the test database).
Every identifier goes through `psycopg.sql.Identifier`; nothing user-supplied is formatted in.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
from psycopg import sql

from synth_pipeline.schema.logical import LOGICAL_TABLES, TABLE_ORDER, Table
from synth_pipeline.schema.logical import table as logical_table
from synth_pipeline.schema.mapping import Mapping

_PG_TYPES = {"bigint": "bigint", "text": "text", "boolean": "boolean", "timestamptz": "timestamptz"}


def _present_tables(mapping: Mapping, tables: Iterable[str] | None) -> list[Table]:
    wanted = set(tables) if tables is not None else set(TABLE_ORDER)
    return [t for t in LOGICAL_TABLES if t.name in wanted and mapping.has_table(t.name)]


def constraint_name(mapping: Mapping, logical: str, suffix: str) -> sql.Identifier:
    """`<physical table>_<suffix>`, cut to PostgreSQL's 63-byte identifier limit."""
    return sql.Identifier(f"{mapping.table_name(logical)}_{suffix}"[:63])


def create_table_statement(schema: str, mapping: Mapping, logical: str, *, unlogged: bool = False,
                           with_checks: bool = True) -> sql.Composed:
    lt = logical_table(logical)
    column_defs = []
    for col in lt.columns:
        if not mapping.has_column(logical, col.name):
            continue
        parts = [mapping.column(logical, col.name), sql.SQL(_PG_TYPES[col.pg_type])]
        if not col.nullable:
            parts.append(sql.SQL("NOT NULL"))
        if with_checks and col.allowed_values:
            parts.append(
                sql.SQL("CHECK ({} IN ({}))").format(
                    mapping.column(logical, col.name),
                    sql.SQL(", ").join(sql.Literal(v) for v in col.allowed_values),
                )
            )
        column_defs.append(sql.SQL(" ").join(parts))
    return sql.SQL("CREATE {}TABLE {} ({})").format(
        sql.SQL("UNLOGGED ") if unlogged else sql.SQL(""),
        mapping.table(schema, logical),
        sql.SQL(", ").join(column_defs),
    )


def create_schema_statement(schema: str) -> sql.Composed:
    return sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))


def create_tables(conn: psycopg.Connection, schema: str, mapping: Mapping, *, tables: Iterable[str] | None = None,
                  unlogged: bool = False) -> None:
    conn.execute(create_schema_statement(schema))
    for lt in _present_tables(mapping, tables):
        conn.execute(create_table_statement(schema, mapping, lt.name, unlogged=unlogged))


def primary_key_statements(schema: str, mapping: Mapping, tables: Iterable[str] | None = None) -> list[sql.Composed]:
    return [
        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ({})").format(
            mapping.table(schema, lt.name), constraint_name(mapping, lt.name, "pkey"), mapping.columns(lt.name, lt.primary_key)
        )
        for lt in _present_tables(mapping, tables)
    ]


def unique_statements(schema: str, mapping: Mapping, tables: Iterable[str] | None = None) -> list[sql.Composed]:
    out = []
    for lt in _present_tables(mapping, tables):
        for cols in lt.unique:
            out.append(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} UNIQUE ({})").format(
                    mapping.table(schema, lt.name),
                    constraint_name(mapping, lt.name, "_".join(mapping.column_name(lt.name, c) for c in cols) + "_key"),
                    mapping.columns(lt.name, cols),
                )
            )
    return out


def foreign_key_statements(schema: str, mapping: Mapping, tables: Iterable[str] | None = None) -> list[sql.Composed]:
    out = []
    for lt in _present_tables(mapping, tables):
        for fk in lt.foreign_keys:
            if not mapping.has_table(fk.ref_table):
                continue
            out.append(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})").format(
                    mapping.table(schema, lt.name),
                    constraint_name(mapping, lt.name, "_".join(mapping.column_name(lt.name, c) for c in fk.columns) + "_fkey"),
                    mapping.columns(lt.name, fk.columns),
                    mapping.table(schema, fk.ref_table),
                    mapping.columns(fk.ref_table, fk.ref_columns),
                )
            )
    return out


def index_statements(schema: str, mapping: Mapping, tables: Iterable[str] | None = None) -> list[sql.Composed]:
    return [
        sql.SQL("CREATE INDEX {} ON {} ({})").format(
            constraint_name(mapping, lt.name, index.suffix), mapping.table(schema, lt.name), mapping.columns(lt.name, index.columns)
        )
        for lt in _present_tables(mapping, tables)
        for index in lt.indexes
    ]


def post_load_statements(schema: str, mapping: Mapping, tables: Iterable[str] | None = None) -> list[sql.Composed]:
    """Everything built after the data, in a valid order: keys, uniques, foreign keys, indexes."""
    tables = list(tables) if tables is not None else None
    return (
        primary_key_statements(schema, mapping, tables)
        + unique_statements(schema, mapping, tables)
        + foreign_key_statements(schema, mapping, tables)
        + index_statements(schema, mapping, tables)
    )


def create_logical_schema(conn: psycopg.Connection, schema: str, mapping: Mapping) -> None:
    """Create the whole schema, constraints and indexes included, in the caller's transaction."""
    create_tables(conn, schema, mapping)
    for statement in post_load_statements(schema, mapping):
        conn.execute(statement)

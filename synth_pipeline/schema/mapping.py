"""Mappings from the logical chat model onto a physical schema (specs/mappings/*.yaml).

A mapping file names, for every logical table, the physical table and, for every logical column,
the physical column. Identifiers are always quoted through `psycopg.sql.Identifier`, so a Prisma
schema (`"Message"."conversationId"`) and the snake_case reference schema are handled the same
way. An optional table or column may be mapped to `null`: the source does not have it.

File format:

    name: prisma
    description: ...
    tables:
      messages:
        table: Message
        columns: {id: id, conversation_id: conversationId, ...}
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from psycopg import sql

from synth_pipeline.errors import SynthError
from synth_pipeline.paths import mapping_path
from synth_pipeline.schema.logical import LOGICAL_TABLES

_MAPPING_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1


@dataclass(frozen=True)
class TableMapping:
    logical: str
    physical: str | None  # None: the source has no such table
    columns: dict[str, str | None]


@dataclass(frozen=True)
class Mapping:
    name: str
    description: str
    tables: dict[str, TableMapping]
    source_path: str
    sha256: str

    def has_table(self, logical: str) -> bool:
        return self.tables[logical].physical is not None

    def has_column(self, logical_table_name: str, logical_column: str) -> bool:
        tm = self.tables[logical_table_name]
        return tm.physical is not None and tm.columns.get(logical_column) is not None

    def table_name(self, logical: str) -> str:
        physical = self.tables[logical].physical
        if physical is None:
            raise SynthError(f"mapping {self.name!r} maps no physical table for logical table {logical!r}")
        return physical

    def column_name(self, logical_table_name: str, logical_column: str) -> str:
        physical = self.tables[logical_table_name].columns.get(logical_column)
        if physical is None:
            raise SynthError(
                f"mapping {self.name!r} maps no physical column for {logical_table_name}.{logical_column}"
            )
        return physical

    def table(self, schema: str, logical: str) -> sql.Identifier:
        """Schema-qualified, quoted physical table identifier."""
        return sql.Identifier(schema, self.table_name(logical))

    def column(self, logical_table_name: str, logical_column: str) -> sql.Identifier:
        return sql.Identifier(self.column_name(logical_table_name, logical_column))

    def columns(self, logical_table_name: str, logical_columns) -> sql.Composed:
        """Comma-separated quoted physical column list."""
        return sql.SQL(", ").join(self.column(logical_table_name, c) for c in logical_columns)

    def qualified_column(self, alias: str, logical_table_name: str, logical_column: str) -> sql.Identifier:
        return sql.Identifier(alias, self.column_name(logical_table_name, logical_column))


def _fail(path: Path, field: str, problem: str) -> SynthError:
    return SynthError(f"{path}: {field}: {problem}")


def _check_identifier(path: Path, field: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(path, field, "must be a non-empty string (or null for an optional part)")
    if len(value.encode()) > _MAX_IDENTIFIER or "\x00" in value:
        raise _fail(path, field, f"is not a valid PostgreSQL identifier (at most {_MAX_IDENTIFIER} bytes)")
    return value


def load_mapping(name_or_path: str | os.PathLike[str] = "reference") -> Mapping:
    """Load and validate a mapping by name (`reference`, `prisma`) or by file path."""
    path = mapping_path(name_or_path)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise SynthError(f"cannot read mapping file {path}: {exc.strerror}; pass --mapping reference|prisma or a path") from None
    try:
        doc = yaml.safe_load(raw_bytes)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise SynthError(f"{path}: not valid YAML{where}") from None
    if not isinstance(doc, dict):
        raise _fail(path, "(top level)", "must be a mapping with keys name, description, tables")
    unknown = set(doc) - {"name", "description", "tables"}
    if unknown:
        raise _fail(path, sorted(unknown)[0], "unknown key; allowed: name, description, tables")
    name = doc.get("name")
    if not isinstance(name, str) or not _MAPPING_NAME.match(name):
        raise _fail(path, "name", "must match ^[a-z][a-z0-9_-]{0,31}$")
    tables_doc = doc.get("tables")
    if not isinstance(tables_doc, dict):
        raise _fail(path, "tables", "must map every logical table to {table, columns}")
    known = {t.name for t in LOGICAL_TABLES}
    for key in tables_doc:
        if key not in known:
            raise _fail(path, f"tables.{key}", f"unknown logical table; known: {', '.join(sorted(known))}")

    tables: dict[str, TableMapping] = {}
    for lt in LOGICAL_TABLES:
        entry = tables_doc.get(lt.name)
        field = f"tables.{lt.name}"
        if entry is None:
            if not lt.optional:
                raise _fail(path, field, "missing; this table is required by the logical model")
            tables[lt.name] = TableMapping(lt.name, None, {c.name: None for c in lt.columns})
            continue
        if not isinstance(entry, dict) or set(entry) - {"table", "columns"}:
            raise _fail(path, field, "must be {table: NAME, columns: {logical: physical}}")
        physical = _check_identifier(path, f"{field}.table", entry.get("table"))
        cols_doc = entry.get("columns") or {}
        if not isinstance(cols_doc, dict):
            raise _fail(path, f"{field}.columns", "must map logical column names to physical names")
        for key in cols_doc:
            if key not in lt.column_names:
                raise _fail(path, f"{field}.columns.{key}", f"unknown logical column of {lt.name}")
        columns: dict[str, str | None] = {}
        for col in lt.columns:
            if col.name not in cols_doc:
                raise _fail(path, f"{field}.columns.{col.name}", "missing (map it, or null if the source lacks it)")
            value = cols_doc[col.name]
            if value is None:
                if not col.optional:
                    raise _fail(path, f"{field}.columns.{col.name}", "is required and cannot be null")
                columns[col.name] = None
            else:
                columns[col.name] = _check_identifier(path, f"{field}.columns.{col.name}", value)
        if len(set(v for v in columns.values() if v)) != len([v for v in columns.values() if v]):
            raise _fail(path, f"{field}.columns", "two logical columns map to the same physical column")
        tables[lt.name] = TableMapping(lt.name, physical, columns)
    physical_names = [t.physical for t in tables.values() if t.physical]
    if len(set(physical_names)) != len(physical_names):
        raise _fail(path, "tables", "two logical tables map to the same physical table")
    return Mapping(
        name=name,
        description=str(doc.get("description") or ""),
        tables=tables,
        source_path=str(path),
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
    )

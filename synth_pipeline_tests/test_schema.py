"""The logical schema under both shipped mappings, created on a real server."""

from __future__ import annotations

import psycopg
import pytest

from synth_pipeline.errors import SynthError
from synth_pipeline.schema import LOGICAL_TABLES, load_mapping
from synth_pipeline.schema.arrow import ARROW_SCHEMAS
from synth_pipeline.schema.ddl import create_logical_schema

CATALOG_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
"""
CATALOG_CONSTRAINTS = """
SELECT c.relname, con.contype, array_agg(a.attname ORDER BY k.ord)::text[],
       rc.relname AS ref_table
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
LEFT JOIN pg_class rc ON rc.oid = con.confrelid
WHERE n.nspname = %s AND con.contype IN ('p', 'f', 'u')
GROUP BY c.relname, con.conname, con.contype, rc.relname
"""


@pytest.mark.parametrize("mapping_name", ["reference", "prisma"])
def test_every_table_column_and_key_exists(pg_dsn: str, mapping_name: str) -> None:
    mapping = load_mapping(mapping_name)
    schema = f"schema_test_{mapping_name}"
    with psycopg.connect(pg_dsn) as conn:
        create_logical_schema(conn, schema, mapping)
        columns = {(t, c): (typ, notnull) for t, c, typ, notnull in conn.execute(CATALOG_COLUMNS, (schema,))}
        constraints = {(t, kind, tuple(cols), ref) for t, kind, cols, ref in conn.execute(CATALOG_CONSTRAINTS, (schema,))}
        conn.rollback()
    for lt in LOGICAL_TABLES:
        physical = mapping.table_name(lt.name)
        for col in lt.columns:
            key = (physical, mapping.column_name(lt.name, col.name))
            assert key in columns, f"{mapping_name}: missing column {key}"
            assert columns[key][0] == {"timestamptz": "timestamp with time zone"}.get(col.pg_type, col.pg_type)
            assert columns[key][1] == (not col.nullable)
        pk = tuple(mapping.column_name(lt.name, c) for c in lt.primary_key)
        assert (physical, "p", pk, None) in constraints, f"{mapping_name}: missing primary key on {physical}"
        for fk in lt.foreign_keys:
            cols = tuple(mapping.column_name(lt.name, c) for c in fk.columns)
            assert (physical, "f", cols, mapping.table_name(fk.ref_table)) in constraints
        for unique in lt.unique:
            cols = tuple(mapping.column_name(lt.name, c) for c in unique)
            assert (physical, "u", cols, None) in constraints
    assert len({k[0] for k in columns}) == 6


def test_prisma_names_are_quoted_pascal_and_camel_case(pg_dsn: str) -> None:
    mapping = load_mapping("prisma")
    assert mapping.table_name("messages") == "Message"
    assert mapping.column_name("messages", "conversation_id") == "conversationId"
    with psycopg.connect(pg_dsn) as conn:
        create_logical_schema(conn, "prisma_quoting", mapping)
        # Unquoted, PostgreSQL folds to lower case: the physical table must need its quotes.
        assert conn.execute("SELECT to_regclass('prisma_quoting.message')").fetchone()[0] is None
        assert conn.execute("""SELECT to_regclass('prisma_quoting."Message"')""").fetchone()[0] is not None
        conn.rollback()


def test_enum_checks_reject_unknown_values(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        create_logical_schema(conn, "enum_checks", load_mapping("reference"))
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO enum_checks.conversations VALUES (1, NULL, 'channel', now())")
        conn.rollback()


def test_arrow_schemas_cover_the_logical_model() -> None:
    for lt in LOGICAL_TABLES:
        assert ARROW_SCHEMAS[lt.name].names == list(lt.column_names)


def _write_mapping(tmp_path, text: str):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return path


def test_mapping_errors_name_file_and_field(tmp_path) -> None:
    reference = load_mapping("reference")
    with pytest.raises(SynthError, match=r"m\.yaml: tables.users.columns.id: missing"):
        load_mapping(_write_mapping(tmp_path, "name: bad\ntables:\n  users: {table: u, columns: {}}\n"))
    without_messages = open(reference.source_path).read().replace("  messages:\n    table: messages", "  notes:\n    table: notes")
    with pytest.raises(SynthError, match=r"m\.yaml: tables.notes: unknown logical table"):
        load_mapping(_write_mapping(tmp_path, without_messages))
    with pytest.raises(SynthError, match="not valid YAML"):
        load_mapping(_write_mapping(tmp_path, "name: [\n"))
    with pytest.raises(SynthError, match="cannot read mapping file"):
        load_mapping(tmp_path / "absent.yaml")
    text = open(reference.source_path).read().replace("content: content,", "content: null,")
    with pytest.raises(SynthError, match=r"tables.messages.columns.content: is required"):
        load_mapping(_write_mapping(tmp_path, text))


def test_optional_parts_may_be_absent(tmp_path) -> None:
    text = open(load_mapping("reference").source_path).read()
    text = text.replace("device: device,", "device: null,")
    head, _, _ = text.partition("  attachments:")
    path = _write_mapping(tmp_path, head)
    mapping = load_mapping(path)
    assert not mapping.has_table("attachments") and not mapping.has_table("message_reads")
    assert not mapping.has_column("messages", "device")
    assert mapping.has_column("messages", "content")

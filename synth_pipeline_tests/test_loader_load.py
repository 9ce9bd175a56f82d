"""`load` and `verify` on a real server: both mappings, metadata, refusals, corrupt shards,
integrity breakage detected also without constraints."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from synth_pipeline.cli import main
from synth_pipeline.errors import SynthError
from synth_pipeline.loader.load import load_shards
from synth_pipeline.loader.verify import verify_schema
from synth_pipeline.schema.mapping import load_mapping
from synth_pipeline_tests.loader_fixtures import shard_dir, write_shard_set  # noqa: F401


def _manifest_rows(root: Path) -> dict[str, int]:
    return json.loads((root / "manifest.json").read_text())["table_rows"]


def _counts(dsn: str, schema: str, mapping_name: str) -> dict[str, int]:
    mapping = load_mapping(mapping_name)
    with psycopg.connect(dsn) as conn:
        return {
            t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(mapping.table(schema, t))).fetchone()[0]
            for t in mapping.tables if mapping.has_table(t)
        }


def _schema_exists(dsn: str, schema: str) -> bool:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s)", (schema,)).fetchone()[0]


@pytest.mark.parametrize("mapping_name", ["reference", "prisma"])
def test_load_under_each_mapping_builds_keys_records_metadata_and_verifies(
        pg_dsn: str, shard_dir: Path, isolated_state: Path, mapping_name: str) -> None:
    schema = f"synth_load_{mapping_name}"
    progress: list[tuple[str, int]] = []
    result = load_shards(shard_dir, pg_dsn, schema, mapping=mapping_name, ttl_days=30,
                         progress=lambda name, rows, seconds: progress.append((name, rows)))
    expected = _manifest_rows(shard_dir)
    assert result.status == "COMPLETED" and result.rows == expected
    assert sorted(name for name, _ in progress) == sorted(result.partitions_loaded)  # one report per partition
    assert sum(rows for _, rows in progress) == sum(expected.values())
    assert result.partitions_loaded == ["users", "shard-00000", "shard-00001"]
    assert _counts(pg_dsn, schema, mapping_name) == expected
    mapping = load_mapping(mapping_name)
    with psycopg.connect(pg_dsn) as conn:
        constraints = dict(conn.execute(
            "SELECT contype, count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = %s AND contype IN ('p', 'u', 'f') GROUP BY contype", (schema,)).fetchall())
        indexes = conn.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = %s", (schema,)).fetchone()[0]
        analyzed = conn.execute(
            "SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = %s AND last_analyze IS NOT NULL", (schema,)).fetchone()[0]
        run = conn.execute("SELECT status, rows, band, seed, mapping, expires_at - started_at, errors "
                           "FROM synth_meta.load_runs WHERE run_id = %s", (result.run_id,)).fetchone()
        ledger = [r[0] for r in conn.execute(
            "SELECT partition FROM synth_meta.shard_ledger WHERE schema_name = %s ORDER BY 1", (schema,))]
        message_pk = conn.execute("SELECT to_regclass(%s)", (
            sql.Identifier(schema, f"{mapping.table_name('messages')}_pkey").as_string(conn),)).fetchone()[0]
    assert constraints == {"p": 6, "u": 2, "f": 7}
    assert indexes == 6 + 2 + 5  # primary keys, uniques, chat indexes
    assert analyzed == 6
    assert message_pk is not None
    assert run[0] == "COMPLETED" and run[1] == expected and run[2:5] == ("custom", 7, mapping_name)
    assert run[5].days == 30 and run[6] == []
    assert ledger == ["shard-00000", "shard-00001", "users"]
    record = json.loads(result.run_file.read_text())
    assert record["status"] == "COMPLETED" and record["rows"] == expected and record["schema"] == schema
    assert record["expires_at"].endswith("Z") and "password" not in json.dumps(record)
    report = verify_schema(pg_dsn, schema)
    assert report.ok, [c.line() for c in report.failures]


def test_rerun_of_a_complete_load_changes_nothing(pg_dsn: str, shard_dir: Path, isolated_state: Path, capsys) -> None:
    args = ["load", "--shards", str(shard_dir), "--target-url", pg_dsn, "--schema", "synth_rerun", "--verify"]
    assert main(args) == 0
    assert main(args) == 0
    assert "already holds this shard set" in capsys.readouterr().out
    assert _counts(pg_dsn, "synth_rerun", "reference") == _manifest_rows(shard_dir)
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM synth_meta.load_runs WHERE schema_name = 'synth_rerun'").fetchone()[0] == 1


def test_existing_empty_schema_is_adopted(pg_dsn: str, shard_dir: Path, isolated_state: Path) -> None:
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("CREATE SCHEMA synth_empty")
    assert load_shards(shard_dir, pg_dsn, "synth_empty").status == "COMPLETED"


def _refused(args: list[str], capsys) -> str:
    capsys.readouterr()  # forget earlier commands' output (a successful load prints progress on stderr)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("schema, message", [
    ("perf_x", "not a provisioned perf database"),
    ("Bad-Name", "is invalid"),
    ("synth_meta", "is reserved"),
    ("public", "is reserved"),
])
def test_refuses_targets_outside_the_rule(pg_dsn: str, shard_dir: Path, isolated_state: Path, capsys, schema, message) -> None:
    err = _refused(["load", "--shards", str(shard_dir), "--target-url", pg_dsn, "--schema", schema], capsys)
    assert message in err
    if schema == "perf_x":
        assert not _schema_exists(pg_dsn, schema)


def test_refuses_the_production_source(pg_dsn: str, shard_dir: Path, isolated_state: Path, capsys, monkeypatch) -> None:
    base = ["load", "--shards", str(shard_dir), "--target-url", pg_dsn, "--schema", "synth_src"]
    assert "production source" in _refused([*base, "--source-url", pg_dsn], capsys)
    monkeypatch.setenv("SYNTH_SOURCE_URL", pg_dsn)
    err = _refused(base, capsys)
    assert "production source" in err and "password" not in err
    assert not _schema_exists(pg_dsn, "synth_src")


def test_refuses_a_schema_holding_tables_it_did_not_create(pg_dsn: str, shard_dir: Path, isolated_state: Path, capsys) -> None:
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("CREATE SCHEMA synth_theirs")
        conn.execute("CREATE TABLE synth_theirs.accounts (id int)")
    err = _refused(["load", "--shards", str(shard_dir), "--target-url", pg_dsn, "--schema", "synth_theirs"], capsys)
    assert "did not create" in err and "accounts" in err
    # a managed schema that gained a foreign table is refused too
    assert main(["load", "--shards", str(shard_dir), "--target-url", pg_dsn, "--schema", "synth_gained"]) == 0
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("UPDATE synth_meta.managed_schemas SET state = 'LOADING' WHERE schema_name = 'synth_gained'")
        conn.execute("CREATE TABLE synth_gained.extra (id int)")
    assert "extra" in _refused(["load", "--shards", str(shard_dir), "--target-url", pg_dsn, "--schema", "synth_gained"], capsys)


@pytest.mark.parametrize("schema, statement, named", [
    ("synth_fn", "CREATE FUNCTION synth_fn.answer(integer) RETURNS integer LANGUAGE sql AS 'SELECT 42'",
     "function synth_fn.answer(integer)"),
    ("synth_enum", "CREATE TYPE synth_enum.mood AS ENUM ('ok')", "type synth_enum.mood"),
    ("synth_composite", "CREATE TYPE synth_composite.pair AS (a int, b int)", "type synth_composite.pair"),
    ("synth_domain", "CREATE DOMAIN synth_domain.positive AS integer CHECK (VALUE > 0)", "type synth_domain.positive"),
    ("synth_tsconf", "CREATE TEXT SEARCH CONFIGURATION synth_tsconf.chat (COPY = pg_catalog.simple)",
     "text search configuration chat"),
    ("synth_opfam", "CREATE OPERATOR FAMILY synth_opfam.ints USING btree", "operator family ints"),
])
def test_refuses_a_schema_holding_functions_or_types_it_did_not_create(pg_dsn: str, shard_dir: Path, isolated_state: Path,
                                                                        capsys, schema, statement, named) -> None:
    """No relation, so the schema looks empty, but DROP SCHEMA ... CASCADE at teardown would take these."""
    with psycopg.connect(pg_dsn) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(statement)
    err = _refused(["load", "--shards", str(shard_dir), "--target-url", pg_dsn, "--schema", schema], capsys)
    assert named in err and "did not create" in err
    with psycopg.connect(pg_dsn) as conn:  # nothing was written into it
        assert conn.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = %s", (schema,)).fetchone()[0] == (1 if "composite" in schema else 0)


def test_a_managed_schema_that_gained_a_function_is_refused(pg_dsn: str, shard_dir: Path, isolated_state: Path,
                                                            capsys) -> None:
    assert main(["load", "--shards", str(shard_dir), "--target-url", pg_dsn, "--schema", "synth_gained_fn"]) == 0
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("CREATE FUNCTION synth_gained_fn.helper() RETURNS int LANGUAGE sql AS 'SELECT 1'")
    err = _refused(["load", "--shards", str(shard_dir), "--target-url", pg_dsn, "--schema", "synth_gained_fn"], capsys)
    assert "function synth_gained_fn.helper()" in err


def test_refuses_another_shard_set_in_the_same_schema(pg_dsn: str, shard_dir: Path, tmp_path: Path, isolated_state: Path,
                                                      capsys) -> None:
    assert main(["load", "--shards", str(shard_dir), "--target-url", pg_dsn, "--schema", "synth_one"]) == 0
    other = tmp_path / "other"
    write_shard_set(other, seed=8)
    err = _refused(["load", "--shards", str(other), "--target-url", pg_dsn, "--schema", "synth_one"], capsys)
    assert "another shard set" in err
    assert _counts(pg_dsn, "synth_one", "reference") == _manifest_rows(shard_dir)


def test_corrupt_or_missing_shard_is_refused_before_anything_is_written(pg_dsn: str, shard_dir: Path, tmp_path: Path,
                                                                        isolated_state: Path, capsys) -> None:
    copy = tmp_path / "corrupt"
    shutil.copytree(shard_dir, copy)
    target = copy / "shard-00001" / "messages.parquet"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    err = _refused(["load", "--shards", str(copy), "--target-url", pg_dsn, "--schema", "synth_corrupt"], capsys)
    assert "shard-00001/messages.parquet" in err and "sha256" in err
    assert not _schema_exists(pg_dsn, "synth_corrupt")
    target.unlink()
    err = _refused(["load", "--shards", str(copy), "--target-url", pg_dsn, "--schema", "synth_corrupt"], capsys)
    assert "is missing" in err
    (copy / "manifest.json").write_text("{not json")
    assert "manifest.json: not a valid shard manifest: not JSON (line 1 column 2)" in _refused(
        ["load", "--shards", str(copy), "--target-url", pg_dsn, "--schema", "synth_corrupt"], capsys)


def test_verify_finds_broken_integrity_without_constraints(pg_dsn: str, shard_dir: Path, isolated_state: Path, capsys) -> None:
    schema = "synth_broken"
    load_shards(shard_dir, pg_dsn, schema)
    with psycopg.connect(pg_dsn) as conn:
        for (name, table) in conn.execute(
                "SELECT conname, conrelid::regclass::text FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
                "WHERE n.nspname = %s AND contype = 'f'", (schema,)).fetchall():
            conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.SQL(table), sql.Identifier(name)))
        conn.execute("SET search_path = synth_broken")
        conn.execute("INSERT INTO messages VALUES (999999999, 424242, 1, 'alpha', 'web', now())")  # orphan conversation
        first = conn.execute("SELECT message_id, user_id FROM message_reads ORDER BY 1, 2 LIMIT 1").fetchone()
        conn.execute("UPDATE message_reads SET read_at = '1999-01-01' WHERE (message_id, user_id) = (%s, %s)", first)
        conn.execute("INSERT INTO users VALUES (100000, 'someone@example.com', 'synuser100000', 'User', '100000', NULL, "
                     "'web', true, now())")
        # a read by a user who exists but is not in the message's conversation
        message, conversation = conn.execute("SELECT id, conversation_id FROM messages WHERE conversation_id < 424242 LIMIT 1").fetchone()
        conn.execute("INSERT INTO message_reads VALUES (%s, 100000, now())", (message,))
    assert main(["verify", "--target-url", pg_dsn, "--schema", schema]) == 1
    captured = capsys.readouterr()
    failed = {line.split()[1].rstrip(":") for line in captured.out.splitlines() if line.startswith("FAIL")}
    assert failed == {"rows.users", "rows.messages", "rows.message_reads", "fk.messages.conversation_id",
                      "reads.before_message", "reads.by_non_participant", "identity.real_email_count"}
    assert "someone@example.com" not in captured.out + captured.err
    assert "integrity broken" in captured.err


def test_verify_refuses_a_schema_the_loader_did_not_create(pg_dsn: str, isolated_state: Path) -> None:
    with pytest.raises(SynthError, match="not created by the loader"):
        verify_schema(pg_dsn, "synth_never_loaded")

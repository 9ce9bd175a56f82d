"""The sampler's privacy promises, on a real fake-production database:
canaries and source values never reach an output file, only aggregates come back from the server
(statement log), read-only sessions and a SELECT-only role, server-side HMAC tokens, determinism,
small-cell suppression and epsilon noise."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import numpy as np
import psycopg
import pytest
from psycopg import conninfo, sql

from synth_pipeline.cli import main as cli_main
from synth_pipeline.errors import SynthError
from synth_pipeline.paths import METRICS_PACK_SCHEMA, PACK_MANIFEST_SCHEMA
from synth_pipeline.sampler.core import ALLOWED_LABELS, sample_pack, write_pack
from synth_pipeline.sampler.executor import (
    MAX_RESULT_ROWS,
    AggregateExecutor,
    DependentTask,
    SessionSettings,
    Task,
    connect_read_only,
)
from synth_pipeline.sampler.fake_production import FakeProductionReport
from synth_pipeline.sampler.noise import two_sided_geometric
from synth_pipeline.sampler.statements import token_expression
from synth_pipeline.sampler.tokens import Salt
from synth_pipeline_tests.sampler_fixtures import TEST_SALT, WINDOW, build_small, raw_values, salt_env  # noqa: F401

SALT = Salt(TEST_SALT.encode())
WORD = re.compile(r"[\w@.+-]+")
SELECT_ONLY_ROLE = "sampler_select_only"


@pytest.fixture(scope="module")
def source(pg_dsn: str) -> tuple[str, FakeProductionReport]:
    return pg_dsn, build_small(pg_dsn)


@pytest.fixture(scope="module")
def result(source):
    return sample_pack(source[0], salt=SALT)


def _four_grams(text: str) -> set[tuple[str, ...]]:
    words = [w.lower() for w in WORD.findall(text)]
    return {tuple(words[i:i + 4]) for i in range(len(words) - 3)}


def _pack_files(tmp_path: Path, dsn: str, *extra: str) -> list[Path]:
    out = tmp_path / "pack.json"
    assert cli_main(["sample", "--source-url", dsn, "--out", str(out), *extra]) == 0
    return [out, tmp_path / "pack_mapping.json"]


def test_no_output_file_contains_canaries_or_source_values(source, salt_env, tmp_path) -> None:
    dsn, report = source
    files = _pack_files(tmp_path, dsn) + _pack_files(tmp_path / "noisy", dsn, "--epsilon", "2")
    texts = [path.read_text() for path in files]
    with psycopg.connect(dsn) as conn:
        planted = conn.execute("SELECT count(*) FROM messages WHERE content LIKE %s", ("%canary%",)).fetchone()[0]
        contents = [r[0] for r in conn.execute("SELECT content FROM messages ORDER BY id").fetchall()]
        bios_and_names = [r[0] for r in conn.execute(
            "SELECT bio FROM users WHERE bio IS NOT NULL UNION ALL SELECT name FROM conversations WHERE name IS NOT NULL")]
    assert planted >= 4 and len(report.canaries) >= 12  # the canaries really are in the source
    needles = [*report.canaries, *report.emails, *report.usernames, *report.names]
    source_grams = set().union(*(_four_grams(text) for text in contents + bios_and_names))
    for text in texts:
        lowered = text.lower()
        assert not [n for n in needles if n.lower() in lowered]
        assert not _four_grams(text) & source_grams


def test_statement_log_shows_only_aggregates(source, result) -> None:
    dsn, report = source
    records = result.statements
    names = [r.name for r in records]
    assert names == ["catalog", "window_end", "export_snapshot", "import_snapshot", "conversations", "messages", "reads",
                     "message_senders", "population"]  # one pass per access path
    source_rows = sum(report.rows.values())
    returned = sum(r.row_count for r in records)
    assert returned < source_rows / 5  # far fewer rows than the source holds: aggregates, not rows
    length_rows = [row for r in records if r.name == "messages" for row in r.rows if row[0] == "message_length"]
    assert sum(row[3] for row in length_rows) == result.pack.totals.messages > 5 * len(length_rows)
    needles = {n.lower() for n in (*report.canaries, *report.emails, *report.usernames, *report.names)}
    for record in records:
        assert record.row_count <= MAX_RESULT_ROWS
        for types in record.value_types:  # numbers, enum labels, tokens and NULLs; no dates, no bytes
            assert set(types) <= {"int", "float", "Decimal", "str", "NoneType", "list"}
        for row in record.rows:
            for value in row:
                if isinstance(value, str):
                    assert value in ALLOWED_LABELS or re.fullmatch(r"[0-9a-f]{16}", value)
                    assert value.lower() not in needles
    inner, outer = SALT.pad_keys()  # parameter values (the HMAC pad keys) are never logged
    logged = repr(records)
    assert inner.hex() not in logged and outer.hex() not in logged and repr(inner) not in logged
    assert "hmac_inner_key" in next(r for r in records if r.name == "conversations").parameter_names
    aggregate_shape = ("metric", "label", "key", "n", "v_min", "v_max", "v_sum")
    assert all(r.columns == aggregate_shape for r in records if r.name not in ("catalog", "window_end") and "snapshot" not in r.name)
    assert all(r.row_count == 0 for r in records if "snapshot" in r.name)  # the snapshot id is not kept
    for record in records:
        # Personal columns are never referenced; message content is only ever measured.
        assert not [c for c in ("email", "username", "first_name", "last_name", "bio", "name") if f'"{c}"' in record.sql]
        measured_only = record.sql.replace("char_length(wm.content)", "").replace('m."content" AS content', "")
        assert "content" not in measured_only


def test_sessions_do_not_change_the_pack(source, result) -> None:
    single = sample_pack(source[0], salt=SALT, session=SessionSettings(jobs=1))
    three = sample_pack(source[0], salt=SALT, session=SessionSettings(jobs=3))
    assert single.pack == result.pack == three.pack
    assert [r.name for r in single.statements].count("import_snapshot") == 0
    assert [r.name for r in three.statements].count("import_snapshot") == 2  # all sessions see one snapshot


def test_heavy_room_tokens_are_the_salted_hmac_of_the_room_ids(source, result) -> None:
    dsn = source[0]
    ids = raw_values(dsn, result.pack, f"SELECT conversation_id FROM messages WHERE {WINDOW} GROUP BY 1 HAVING count(*) > 1000")
    logged = {row[1] for r in result.statements for row in r.rows if row[0] == "heavy_room"}
    assert logged == {SALT.token(int(i)) for i in ids}
    listed = {room.token for room in result.pack.metrics.heavy_rooms.rooms}
    assert listed and listed <= logged


@pytest.mark.parametrize("salt", [b"0123456789abcdef", b"x" * 100, "sél-ünïcode-salt!".encode()])
def test_server_side_hmac_equals_python_hmac(source, salt: bytes) -> None:
    inner, outer = Salt(salt).pad_keys()
    ids = [1, 42, 9_223_372_036_854_775_807]
    statement = sql.SQL("SELECT {} FROM unnest(%(ids)s::bigint[]) AS ids(id) ORDER BY id").format(token_expression(sql.SQL("id")))
    with psycopg.connect(source[0]) as conn:
        tokens = [r[0] for r in conn.execute(statement, {"ids": ids, "hmac_inner_key": inner, "hmac_outer_key": outer})]
    import hashlib
    import hmac

    assert tokens == [hmac.new(salt, str(i).encode(), hashlib.sha256).hexdigest()[:16] for i in ids]


def test_select_only_role_can_sample(source, pg_admin_dsn) -> None:
    dsn = source[0]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(SELECT_ONLY_ROLE)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(sql.Identifier(SELECT_ONLY_ROLE)))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(SELECT_ONLY_ROLE)))
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(sql.Identifier(SELECT_ONLY_ROLE)))
    role_dsn = conninfo.make_conninfo(dsn, user=SELECT_ONLY_ROLE)
    try:
        as_role = sample_pack(role_dsn, salt=SALT)
        assert as_role.pack.model_dump() == sample_pack(dsn, salt=SALT).pack.model_dump()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("REVOKE SELECT ON message_reads FROM {}").format(sql.Identifier(SELECT_ONLY_ROLE)))
        with pytest.raises(SynthError, match=r"no SELECT privilege on public\.message_reads"):
            sample_pack(role_dsn, salt=SALT)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(SELECT_ONLY_ROLE)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(SELECT_ONLY_ROLE)))


def test_sampler_sessions_refuse_to_write_even_as_superuser(source) -> None:
    dsn = source[0]
    with connect_read_only(dsn) as conn:
        assert conn.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"
        assert conn.execute("SHOW transaction_read_only").fetchone()[0] == "on"
        conn.rollback()
        executor = AggregateExecutor(conn, allowed_labels=frozenset(ALLOWED_LABELS))
        with pytest.raises(SynthError, match="read-only transaction"):
            executor.run("write_attempt", sql.SQL("DELETE FROM message_reads"))
        conn.rollback()
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE sampler_was_here (id int)")
        conn.rollback()
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT to_regclass('sampler_was_here')").fetchone()[0] is None
        assert conn.execute("SELECT count(*) FROM message_reads").fetchone()[0] > 0


def test_executor_refuses_row_level_text(source) -> None:
    with connect_read_only(source[0]) as conn:
        executor = AggregateExecutor(conn, allowed_labels=frozenset(ALLOWED_LABELS))
        with pytest.raises(SynthError, match="not a known label"):
            executor.run("leak", sql.SQL("SELECT email FROM users LIMIT 1"))
        conn.rollback()
        with pytest.raises(SynthError, match="more than 5 rows"):
            AggregateExecutor(conn, allowed_labels=frozenset(), max_rows=5).run("rows", sql.SQL("SELECT id FROM messages"))
    assert executor.log == []


def test_a_dependent_task_is_built_from_the_rows_of_the_task_it_names(source) -> None:
    with connect_read_only(source[0], SessionSettings(jobs=2)) as conn:
        executor = AggregateExecutor(conn, allowed_labels=frozenset())
        try:
            executor.share_snapshot(source[0], SessionSettings(jobs=2))
            later = DependentTask("later", after="first",
                                  build=lambda rows: Task("later", sql.SQL("SELECT %(x)s::int + 1"), {"x": rows[0][0]}))
            slow = Task("slow", sql.SQL("SELECT count(*) FROM pg_sleep(0.2)"), {})
            results = executor.run_all([Task("first", sql.SQL("SELECT 41"), {}), slow, later])
            assert results == [[(41,)], [(1,)], [(42,)]]
            assert [r.name for r in executor.log][-3:] == ["first", "slow", "later"]  # log in task order
            with pytest.raises(ValueError, match="must come before it"):
                executor.run_all([later, Task("first", sql.SQL("SELECT 1"), {})])
        finally:
            executor.close()


def test_same_salt_and_data_give_identical_bytes(source, result, tmp_path) -> None:
    again = sample_pack(source[0], salt=SALT)
    first, _ = write_pack(result, tmp_path / "a.json")
    second, _ = write_pack(again, tmp_path / "b.json")
    assert first.read_bytes() == second.read_bytes()
    assert result.manifest.pack_sha256 == again.manifest.pack_sha256
    other_salt = sample_pack(source[0], salt=Salt(b"another-salt-of-enough-length"))
    assert other_salt.manifest.tokenization.salt_fingerprint != result.manifest.tokenization.salt_fingerprint
    assert {r.token for r in other_salt.pack.metrics.heavy_rooms.rooms}.isdisjoint(
        {r.token for r in result.pack.metrics.heavy_rooms.rooms})


def _histograms(node, path="") -> list[tuple[str, dict]]:
    if isinstance(node, dict):
        if "edges" in node and "counts" in node:
            return [(path, node)]
        return [h for k, v in node.items() for h in _histograms(v, f"{path}/{k}")]
    return []


def test_small_cells_are_merged_or_suppressed_and_recorded(source, result) -> None:
    big = sample_pack(source[0], salt=SALT, min_cell_size=200)
    document = big.pack.model_dump(mode="json")
    histograms = _histograms(document["metrics"])
    assert len(histograms) >= 10
    for path, histogram in histograms:
        assert all(c == 0 or c >= 200 for c in histogram["counts"]), path
    metrics = document["metrics"]
    mixes = [metrics["hour_of_week"]["counts"], [metrics["device"][k] for k in ("web", "ios", "android", "unknown")],
             [metrics["primary_device"][k] for k in ("web", "ios", "android", "unknown")],
             [metrics["attachments"]["kinds"][k] for k in ("image", "video", "audio", "file")]]
    for counts in mixes:
        assert all(c == 0 or c >= 200 for c in counts)
    assert metrics["hour_of_week"]["suppressed"] > 0
    assert all(room_participants >= 200 for room_participants in _listed_room_participants(source[0], big))
    privacy = big.pack.privacy
    assert privacy.min_cell_size == 200
    assert privacy.merged_cells > 0
    assert privacy.suppressed_cells > result.pack.privacy.suppressed_cells
    assert big.manifest.privacy.merged_cells == privacy.merged_cells
    unmerged = sample_pack(source[0], salt=SALT, min_cell_size=1).pack.privacy
    assert (unmerged.merged_cells, unmerged.suppressed_cells) == (0, 0)


def _listed_room_participants(dsn: str, result) -> list[int]:
    tokens = {room.token for room in result.pack.metrics.heavy_rooms.rooms}
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT conversation_id, count(*) FROM conversation_participants GROUP BY 1").fetchall()
    return [n for conversation_id, n in rows if SALT.token(conversation_id) in tokens]


def test_epsilon_noise_changes_counts_and_respects_the_schema(source, result) -> None:
    noisy = sample_pack(source[0], salt=SALT, epsilon=1.0, contribution_bound=5)
    document = noisy.pack.model_dump(mode="json")
    jsonschema.validate(document, json.loads(METRICS_PACK_SCHEMA.read_text()))
    jsonschema.validate(noisy.manifest.model_dump(mode="json"), json.loads(PACK_MANIFEST_SCHEMA.read_text()))
    exact = dict(_histograms(result.pack.model_dump(mode="json")["metrics"]))
    changed = [path for path, histogram in _histograms(document["metrics"])
               if path in exact and histogram["counts"] != exact[path]["counts"]]
    assert len(changed) >= 5
    assert all(c >= 0 for _, h in _histograms(document["metrics"]) for c in h["counts"])
    privacy = noisy.manifest.privacy
    assert (privacy.epsilon, privacy.noise_mechanism, privacy.contribution_bound) == (1.0, "geometric", 5)
    assert 0 < privacy.epsilon_spent <= 1.0
    assert noisy.pack.metrics.heavy_rooms.rooms == []
    # Bounded contributions: no sender counts more than 5 messages.
    assert noisy.pack.metrics.messages_per_user.percentiles.max <= 5
    again = sample_pack(source[0], salt=SALT, epsilon=1.0, contribution_bound=5)
    assert again.manifest.pack_sha256 == noisy.manifest.pack_sha256  # deterministic for the same salt and data
    other = sample_pack(source[0], salt=Salt(b"another-salt-of-enough-length"), epsilon=1.0, contribution_bound=5)
    assert other.pack.metrics.message_length.histogram != noisy.pack.metrics.message_length.histogram


def test_two_sided_geometric_noise_has_the_discrete_laplace_variance() -> None:
    alpha = np.exp(-0.5)
    draws = two_sided_geometric(np.random.default_rng(3), alpha, 200_000)
    assert abs(draws.mean()) < 0.05
    assert draws.var() == pytest.approx(2 * alpha / (1 - alpha) ** 2, rel=0.03)

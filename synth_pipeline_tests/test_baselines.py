"""Query baselines on a real PostgreSQL schema filled by generate_series (never mocked)."""

from __future__ import annotations

import json

import psycopg
import pytest
from psycopg import sql

from synth_pipeline.cli import main
from synth_pipeline.errors import SynthError
from synth_pipeline.infra.dsn import dsn_params
from synth_pipeline.reports.baselines import (
    CATALOG, RECOMMENDED_INDEXES, BaselineOptions, CaseResult, find_regressions, resolve_roles, run_baselines,
)
from synth_pipeline.reports.plans import Measurement, plan_shape
from synth_pipeline.reports.sqltemplate import load_statement, named_statements, render
from synth_pipeline.schema.mapping import load_mapping
from synth_pipeline_tests.baselines_fixtures import fill_chat_schema, register_as_loaded

FAST = BaselineOptions(runs=2, write_rows=2000, write_repeats=1)
PAGINATION = "conversation_latest_page[heavy_room]"


def _row_counts(dsn: str, schema: str, mapping_name: str) -> dict[str, int]:
    mapping = load_mapping(mapping_name)
    with psycopg.connect(dsn) as conn:
        return {
            t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(mapping.table(schema, t))).fetchone()[0]
            for t in ("conversations", "conversation_participants", "messages", "message_reads")
        }


def _index_names(dsn: str, schema: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s", (schema,))}


@pytest.fixture(scope="module", params=["reference", "prisma"])
def loaded(pg_dsn, request):
    mapping_name = request.param
    schema = f"synth_chat_{mapping_name}"  # an isolated schema the loader could have created
    fill_chat_schema(pg_dsn, schema, load_mapping(mapping_name))
    register_as_loaded(pg_dsn, schema, load_mapping(mapping_name))
    return pg_dsn, schema, mapping_name


@pytest.fixture(scope="module")
def first_run(loaded, tmp_path_factory):
    dsn, schema, mapping_name = loaded
    counts = _row_counts(dsn, schema, mapping_name)
    out = tmp_path_factory.mktemp(f"baselines_{mapping_name}")
    result = run_baselines(dsn, schema, mapping_name=mapping_name, out_dir=out, options=FAST)
    return result, counts, out


# --- SQL in logical names -------------------------------------------------------------------------

@pytest.mark.parametrize("mapping_name", ["reference", "prisma"])
def test_every_catalog_statement_renders_under_the_mapping(mapping_name):
    mapping = load_mapping(mapping_name)
    statements = [load_statement(f"{q}.sql") for q in {c.query for c in CATALOG}]
    statements += list(named_statements("parameters.sql").values()) + list(named_statements("write_batch.sql").values())
    assert len({c.query for c in CATALOG}) >= 6
    for statement in statements:
        text = statement.render("perf", mapping).as_string(None)
        assert "{" not in text and "}" not in text, statement.name
    page = load_statement("conversation_latest_page.sql").render("perf", mapping).as_string(None)
    if mapping_name == "prisma":
        assert '"perf"."Message"' in page and '"conversationId"' in page and '"createdAt"' in page
    else:
        assert '"perf"."messages"' in page and '"conversation_id"' in page


def test_unknown_placeholders_fail_at_render_time():
    mapping = load_mapping("reference")
    with pytest.raises(SynthError, match="unknown logical table"):
        render("SELECT 1 FROM {mesages}", "s", mapping)
    with pytest.raises(SynthError, match="unknown logical column"):
        render("SELECT m.{messages.body} FROM {messages} AS m", "s", mapping)


def test_plan_shape_is_nested_and_names_indexes():
    plan = {"Node Type": "Limit", "Plans": [{"Node Type": "Incremental Sort", "Plans": [
        {"Node Type": "Index Scan", "Index Name": "messages_idx", "Scan Direction": "Backward", "Relation Name": "messages"}]}]}
    assert plan_shape(plan) == "Limit(Incremental Sort(Index Scan[messages_idx backward]))"


# --- a full run -----------------------------------------------------------------------------------

def test_every_case_has_a_plan_before_and_after(first_run):
    result, _, _ = first_run
    assert [c.name for c in result.cases] == [c.name for c in CATALOG]
    for case in result.cases:
        assert not case.skipped, case.name
        for m in (case.before, case.after):
            assert m.shape and m.node_types and m.median_ms > 0 and len(m.times_ms) == FAST.runs
            assert m.shared_hit + m.shared_read > 0
        assert case.before.rows == case.after.rows  # an index never changes the answer
    assert result.case(PAGINATION).before.rows == 50


def test_parameters_come_from_the_data(first_run):
    result, _, _ = first_run
    # The fixture's heaviest room is conversation 1 (every 16th message) and it is paginated deep.
    assert result.parameters["heavy_room"]["conversation_id"] == "1"
    assert int(result.parameters["heavy_room"]["messages"]) > 1000
    assert int(result.parameters["heavy_user"]["messages"]) > int(result.parameters["typical_user"]["messages"])
    assert {"cursor_created_at", "cursor_id"} <= set(result.parameters["heavy_room"])


def test_the_recommended_index_changes_the_pagination_plan(first_run):
    result, _, _ = first_run
    case = result.case(PAGINATION)
    mapping = load_mapping(result.mapping)
    recommended = RECOMMENDED_INDEXES[0].physical_name(mapping)
    # Before: the base (conversation_id, created_at) index gives created_at order only, so the
    # id tie-breaker needs a sort on top; after: the rows come in (created_at, id) order.
    assert case.before.has_sort and recommended not in case.before.indexes
    assert not case.after.has_sort and case.after.indexes == [recommended]
    assert case.before.shape != case.after.shape
    keyset = result.case("conversation_page_keyset[heavy_room]")
    assert keyset.before.has_sort and not keyset.after.has_sort


def test_the_unread_counts_become_index_only(first_run):
    result, _, _ = first_run
    case = result.case("user_unread_counts[heavy_user]")
    before_buffers = case.before.shared_hit + case.before.shared_read
    after_buffers = case.after.shared_hit + case.after.shared_read
    assert "Index Only Scan" in case.after.node_types and after_buffers < before_buffers / 2


def test_control_queries_keep_their_plan(first_run):
    result, _, _ = first_run
    for name in ("sender_messages_in_range[heavy_user]", "message_read_receipts[most_read_message]"):
        case = result.case(name)
        assert case.before.shape == case.after.shape, name


def test_indexes_are_measured_and_removed_and_the_data_is_untouched(first_run, loaded):
    result, counts, _ = first_run
    dsn, schema, mapping_name = loaded
    assert len(result.indexes) == len(RECOMMENDED_INDEXES)
    assert all(i.size_bytes > 0 and i.definition.startswith("CREATE INDEX") for i in result.indexes)
    names = _index_names(dsn, schema)
    assert not {i.name for i in result.indexes} & names  # dropped again (no --keep-indexes)
    assert {i.supersedes for i in result.indexes} <= names  # the base indexes are still there
    assert _row_counts(dsn, schema, mapping_name) == counts  # the write batches were rolled back


def test_write_amplification_is_measured_per_table(first_run):
    result, _, _ = first_run
    mapping = load_mapping(result.mapping)
    tables = {w.table: w for w in result.write_costs}
    assert set(tables) == {mapping.table_name(t) for t in ("messages", "conversation_participants", "message_reads")}
    for cost in tables.values():
        assert cost.rows == FAST.write_rows and cost.base.ms > 0
        # One WAL record per heap row and per index entry, plus a few hundred for page splits:
        # each recommended index adds about one record per row; replacing the index it
        # supersedes takes that back.
        assert cost.with_indexes.wal_records >= cost.base.wal_records + 0.9 * cost.rows
        assert cost.replacing.wal_records <= cost.with_indexes.wal_records - 0.7 * cost.rows
        assert cost.ratios("with_indexes")["wal_records"] > 1.0


def test_results_are_stored_as_json_and_markdown(first_run):
    result, _, out = first_run
    document = json.loads(result.json_path.read_text())
    assert result.json_path.parent == out and document["run_id"] == result.run_id
    assert [c["name"] for c in document["cases"]] == [c.name for c in CATALOG]
    assert document["cases"][0]["before"]["shape"] == result.cases[0].before.shape
    report = result.markdown_path.read_text()
    assert "| query | rows | before ms | after ms | speed-up |" in report
    assert "## Write amplification" in report and "## Recommended indexes" in report
    assert "plain DSN" in report  # said plainly which roles did what


def test_a_second_run_compares_with_the_first(first_run, loaded):
    result, _, out = first_run
    dsn, schema, mapping_name = loaded
    second = run_baselines(dsn, schema, mapping_name=mapping_name, out_dir=out, options=FAST)
    assert second.previous_run_id == result.run_id
    # Same data, same indexes: the plans are the same, so no plan regression is flagged.
    assert [r for r in second.regressions if r.kind == "plan"] == []
    assert f"Compared with run `{result.run_id}`" in second.markdown_path.read_text()


# --- regressions ----------------------------------------------------------------------------------

def _measurement(shape: str, ms: float) -> Measurement:
    return Measurement(shape=shape, node_types=["Limit"], indexes=[], rows=1, shared_hit=1, shared_read=0,
                       heap_fetches=0, median_ms=ms, planning_ms=0.1)


def test_regressions_flag_plan_changes_and_slower_medians():
    previous = {"cases": [
        {"name": "a", "before": _measurement("Limit(Index Scan[x])", 10.0).to_dict(), "after": None},
        {"name": "b", "before": _measurement("Seq Scan[m]", 10.0).to_dict(), "after": None},
        {"name": "c", "before": _measurement("Seq Scan[m]", 0.1).to_dict(), "after": None},
    ]}
    now = [
        CaseResult("a", "q", "p", "", before=_measurement("Limit(Sort(Seq Scan[m]))", 10.0)),
        CaseResult("b", "q", "p", "", before=_measurement("Seq Scan[m]", 16.0)),
        CaseResult("c", "q", "p", "", before=_measurement("Seq Scan[m]", 0.3)),  # 3x, but under the floor
    ]
    found = find_regressions(previous, now, threshold=0.5)
    assert [(r.case, r.kind) for r in found] == [("a", "plan"), ("b", "time")]
    assert find_regressions(previous, now, threshold=0.7) == [found[0]]


# --- roles ----------------------------------------------------------------------------------------

def test_plain_dsn_uses_the_same_role_for_both(pg_dsn, tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTH_SECRETS_DIR", str(tmp_path / "secrets"))
    roles = resolve_roles(pg_dsn)
    assert roles.measure_dsn == roles.owner_dsn == pg_dsn and "plain DSN" in roles.description


def test_provisioned_roles_measure_read_only_and_change_indexes_as_owner(loaded, tmp_path, monkeypatch):
    dsn, schema, mapping_name = loaded
    reader = f"bl_reader_{mapping_name}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(reader)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(reader)))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), sql.Identifier(reader)))
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(sql.Identifier(schema), sql.Identifier(reader)))
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    readonly_dsn = psycopg.conninfo.make_conninfo(dsn, user=reader)
    (secrets / ".env.dev").write_text(f"SYNTH_ENV=dev\nDATABASE_URL={dsn}\nDATABASE_URL_OWNER={dsn}\n"
                                      f"DATABASE_URL_READONLY={readonly_dsn}\n")
    monkeypatch.setenv("SYNTH_SECRETS_DIR", str(secrets))
    try:
        roles = resolve_roles(dsn)
        assert roles.measure_user == reader and roles.owner_user == dsn_params(dsn).get("user", roles.owner_user)
        # A role with SELECT only is enough for every measurement.
        result = run_baselines(dsn, schema, mapping_name=mapping_name, out_dir=tmp_path / "out", options=FAST)
        assert f"as {reader} (read-only)" in result.roles and ".env.dev" in result.roles
        assert all(c.before and c.after for c in result.cases)
        with pytest.raises(SynthError, match="not the database provisioned for staging|no secrets file"):
            resolve_roles(dsn, env="staging")
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(reader)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(reader)))


# --- CLI ------------------------------------------------------------------------------------------

def test_cli_runs_and_prints_the_table(loaded, tmp_path, capsys):
    dsn, schema, mapping_name = loaded
    code = main(["baselines", "--target-url", dsn, "--schema", schema, "--mapping", mapping_name,
                 "--out", str(tmp_path), "--runs", "1", "--write-rows", "500"])
    out = capsys.readouterr().out
    assert code == 0
    assert PAGINATION in out and "speed-up" in out and "report: " in out
    assert len(list(tmp_path.glob("run_*.json"))) == 1 and len(list(tmp_path.glob("run_*.md"))) == 1


def test_cli_unknown_schema_exits_2_with_one_line(pg_dsn, tmp_path, capsys):
    code = main(["baselines", "--target-url", pg_dsn, "--schema", "synth_no_such_schema", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "no_such_schema" in err and len(err.splitlines()) == 1
    assert not list(tmp_path.glob("run_*"))


def test_runs_compare_only_with_an_earlier_run_on_the_same_data(tmp_path) -> None:
    import json

    from synth_pipeline.reports.baselines import previous_run

    (tmp_path / "run_1.json").write_text(json.dumps({"run_id": "1", "data_rows": {"messages": 100}}))
    (tmp_path / "run_2.json").write_text(json.dumps({"run_id": "2", "data_rows": {"messages": 5_000_000}}))
    (tmp_path / "run_3.json").write_text(json.dumps({"run_id": "3"}))  # older format: no data fingerprint
    assert previous_run(tmp_path, {"messages": 100})["run_id"] == "1"
    assert previous_run(tmp_path, {"messages": 5_000_000})["run_id"] == "2"
    assert previous_run(tmp_path, {"messages": 7}) is None


def test_cli_out_that_is_a_file_exits_2_before_measuring(tmp_path, capsys) -> None:
    taken = tmp_path / "taken"
    taken.write_text("a file, not a directory")
    code = main(["baselines", "--target-url", "postgresql://nobody@127.0.0.1:1/nowhere", "--schema", "s",
                 "--out", str(taken)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--out" in err and len(err.splitlines()) == 1
    assert "internal error" not in err and "cannot connect" not in err  # refused before any database work


def _refused(argv: list[str], capsys) -> str:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    return err


def test_a_schema_the_loader_did_not_create_is_refused(pg_dsn, tmp_path, capsys) -> None:
    """An application's schema in someone else's database: refused before any index or write."""
    fill_chat_schema(pg_dsn, "app", load_mapping("reference"), messages=2_000)
    before = _index_names(pg_dsn, "app")
    err = _refused(["baselines", "--target-url", pg_dsn, "--schema", "app", "--out", str(tmp_path)], capsys)
    assert "refused" in err and "not a provisioned perf database" in err and "'app'" in err
    # a synth_ name is not enough: the schema must be in synth_meta.managed_schemas
    fill_chat_schema(pg_dsn, "synth_handmade", load_mapping("reference"), messages=2_000)
    err = _refused(["baselines", "--target-url", pg_dsn, "--schema", "synth_handmade", "--out", str(tmp_path)], capsys)
    assert "was not created by the loader" in err
    assert _index_names(pg_dsn, "app") == before and not list(tmp_path.glob("run_*"))


def test_the_production_source_is_refused(loaded, tmp_path, capsys, monkeypatch) -> None:
    dsn, schema, mapping_name = loaded
    argv = ["baselines", "--target-url", dsn, "--schema", schema, "--mapping", mapping_name, "--out", str(tmp_path)]
    assert "production source" in _refused([*argv, "--source-url", dsn], capsys)
    monkeypatch.setenv("SYNTH_SOURCE_URL", dsn)
    err = _refused(argv, capsys)
    assert "production source" in err and "password" not in err
    assert not list(tmp_path.glob("run_*"))


def test_a_schema_name_the_loader_never_creates_is_refused(pg_dsn, tmp_path, capsys) -> None:
    schema = 'Odd "Quoted" Schema'
    err = _refused(["baselines", "--target-url", pg_dsn, "--schema", schema, "--out", str(tmp_path)], capsys)
    assert "is invalid" in err

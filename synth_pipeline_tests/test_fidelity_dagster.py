"""The reports' Dagster assets: `fidelity_report` (with its check) and `query_baselines`.

The upstream assets are stand-ins with the real keys and partitioning: `validated_pack` and
`calibrated_spec` per pack partition (the pack sampled by the real sampler from a production-like
schema, the reference spec), and `loaded_schema` naming a schema in a real database. The assets
under test are the real ones, against real PostgreSQL.
"""

from __future__ import annotations

import json

import dagster as dg
import pytest

from synth_pipeline.defs.partitions import pack_partitions
from synth_pipeline.defs.reports.assets import FIDELITY_CHECK, fidelity_report, query_baselines
from synth_pipeline.defs.loading.resources import PerfTarget
from synth_pipeline.defs.resources import PipelineStorage, PostgresDatabase
from synth_pipeline.paths import REFERENCE_SPEC
from synth_pipeline.sampler.core import sample_pack, write_pack
from synth_pipeline.sampler.fake_production import build_fake_production
from synth_pipeline.sampler.tokens import SALT_ENV, Salt
from synth_pipeline.schema.mapping import load_mapping
from synth_pipeline_tests.helpers import isolate_state
from synth_pipeline_tests.dagster_fixtures import failure_description, pack_instance
from synth_pipeline_tests.baselines_fixtures import fill_chat_schema, register_as_loaded

SALT = "dagster-fidelity-salt-0123456789"
PERF_URL_ENV = "SYNTH_TEST_PERF_URL"
SOURCE_URL_ENV = "SYNTH_TEST_SOURCE_URL"  # the source_db resource's variable, unset unless a test names a source
LOADED = "synth_loaded"  # baselines run only on a schema the loader created (registered in synth_meta)


@pytest.fixture(scope="module")
def databases(pg_dsn, tmp_path_factory):
    build_fake_production(pg_dsn, schema="prod", messages=30_000, seed=5, canaries=0)
    build_fake_production(pg_dsn, schema="skewed", messages=30_000, seed=6, canaries=0, reads=False)
    pack, _ = write_pack(sample_pack(pg_dsn, schema="prod", salt=Salt(SALT.encode())),
                         tmp_path_factory.mktemp("packs") / "prod.json")
    fill_chat_schema(pg_dsn, LOADED, load_mapping("reference"), messages=20_000)
    register_as_loaded(pg_dsn, LOADED, load_mapping("reference"))
    return pg_dsn, pack


def _upstream(pack_path, schema):
    @dg.asset(name="validated_pack", partitions_def=pack_partitions)
    def validated_pack() -> str:
        return str(pack_path)

    @dg.asset(name="calibrated_spec", partitions_def=pack_partitions)
    def calibrated_spec() -> str:
        return str(REFERENCE_SPEC)

    @dg.asset(name="loaded_schema")
    def loaded_schema() -> dict:
        return {"schema": schema, "mapping": "reference", "env": None, "run_id": "test"}

    return validated_pack, calibrated_spec, loaded_schema


def _materialize(databases, tmp_path, monkeypatch, schema, run_config=None, selection="fidelity_report"):
    dsn, pack = databases
    monkeypatch.setenv(PERF_URL_ENV, dsn)
    monkeypatch.delenv("SYNTH_PERF_ENV", raising=False)
    monkeypatch.setenv(SALT_ENV, SALT)
    isolate_state(monkeypatch, tmp_path)
    validated_pack, calibrated_spec, loaded_schema = _upstream(pack, schema)
    instance = pack_instance("2026q1")
    resources = {"storage": PipelineStorage(root=str(tmp_path / "artifacts")),
                 "perf_target": PerfTarget(url_env=PERF_URL_ENV), "source_db": PostgresDatabase(url_env=SOURCE_URL_ENV)}
    assert dg.materialize([validated_pack, calibrated_spec], partition_key="2026q1", instance=instance,
                          resources=resources).success
    assets = [validated_pack, calibrated_spec, loaded_schema, fidelity_report, query_baselines]
    return dg.materialize(assets, selection=["loaded_schema", selection], instance=instance, resources=resources,
                          run_config=run_config, raise_on_error=False)


def test_fidelity_report_passes_on_the_schema_the_pack_came_from(databases, tmp_path, monkeypatch):
    result = _materialize(databases, tmp_path, monkeypatch, "prod")
    assert result.success
    document = json.loads(open(result.output_for_node("fidelity_report")).read())
    assert document["overall"] == 1.0
    metadata = result.asset_materializations_for_node("fidelity_report")[0].metadata
    assert metadata["overall"].value == 1.0
    markdown = metadata["report"].value
    assert "| metric | group | score |" in markdown and markdown.count("data:image/png;base64,") > 10
    assert (tmp_path / "artifacts" / "fidelity" / "prod" / "plots" / "hour_of_week.png").is_file()
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == FIDELITY_CHECK and check.passed


def test_fidelity_check_fails_below_the_threshold_and_names_the_drivers(databases, tmp_path, monkeypatch):
    # Another production-like schema without read receipts: the reads metrics score 0.
    result = _materialize(databases, tmp_path, monkeypatch, "skewed")
    assert result.success  # a failed check is a finding, not a crashed run
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    feedback = check.metadata["feedback"].value
    assert feedback["reads.latency_seconds"]["score"] == 0.0
    assert feedback["reads.latency_seconds"]["drives"] == ["parameters.reads.latency_seconds"]


BASELINES_CONFIG = {"ops": {"query_baselines": {"config": {"runs": 1, "write_rows": 500}}}}


def test_query_baselines_materializes_with_the_before_after_table(databases, tmp_path, monkeypatch):
    result = _materialize(databases, tmp_path, monkeypatch, LOADED, run_config=BASELINES_CONFIG, selection="query_baselines")
    assert result.success
    document = json.loads(open(result.output_for_node("query_baselines")).read())
    assert document["schema"] == LOADED and len(document["cases"]) >= 6
    metadata = result.asset_materializations_for_node("query_baselines")[0].metadata
    assert "conversation_latest_page[heavy_room]" in metadata["baselines"].value
    assert metadata["plans_changed"].value >= 1 and "plain DSN" in metadata["roles"].value


def _indexes(dsn: str, schema: str) -> set[str]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        return {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s", (schema,))}


def test_query_baselines_refuses_a_schema_the_loader_did_not_create(databases, tmp_path, monkeypatch):
    before = _indexes(databases[0], "prod")
    result = _materialize(databases, tmp_path, monkeypatch, "prod", run_config=BASELINES_CONFIG, selection="query_baselines")
    assert not result.success
    line = failure_description(result)
    assert line.startswith("refused:") and "'prod'" in line and len(line.splitlines()) == 1
    assert _indexes(databases[0], "prod") == before


def test_query_baselines_refuses_the_production_source(databases, tmp_path, monkeypatch):
    monkeypatch.setenv(SOURCE_URL_ENV, databases[0])  # the sampler's source and the perf target: one database
    result = _materialize(databases, tmp_path, monkeypatch, LOADED, run_config=BASELINES_CONFIG, selection="query_baselines")
    assert not result.success
    line = failure_description(result)
    assert line.startswith("refused: target") and "production source" in line and len(line.splitlines()) == 1


def test_the_reports_definitions_load_next_to_their_upstream(tmp_path):
    upstream = _upstream(tmp_path / "pack.json", "synth_x")
    defs = dg.Definitions(assets=[*upstream, fidelity_report, query_baselines],
                          resources={"perf_target": PerfTarget(), "source_db": PostgresDatabase(url_env="SYNTH_SOURCE_URL"),
                                     "storage": PipelineStorage(root=str(tmp_path))})
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    assert dg.AssetKey("loaded_schema") in graph.get(dg.AssetKey("fidelity_report")).parent_keys
    assert dg.AssetKey("loaded_schema") in graph.get(dg.AssetKey("query_baselines")).parent_keys

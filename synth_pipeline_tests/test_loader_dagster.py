"""Dagster: the real graph synthetic_shards -> shard_manifest -> loaded_schema with its blocking
integrity check; the check stops downstream assets; the TTL sensor and teardown job."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import psycopg
import pytest

from synth_pipeline.defs.generation.assets import shard_manifest, shard_partitions, synthetic_shards
from synth_pipeline.defs.lifecycle.jobs import teardown_job, ttl_teardown_job
from synth_pipeline.defs.lifecycle.sensors import ttl_sensor
from synth_pipeline.defs.loading.assets import loaded_schema
from synth_pipeline.defs.loading.checks import loaded_schema_integrity
from synth_pipeline.defs.loading.resources import PerfTarget
from synth_pipeline.defs.resources import PipelineStorage, PostgresDatabase
from synth_pipeline.loader.load import load_shards
from synth_pipeline_tests.dagster_fixtures import check_evaluation, failure_description
from synth_pipeline_tests.loader_fixtures import shard_dir  # noqa: F401
from synth_pipeline_tests.pg import database_exists
from synth_pipeline_tests.generation_fixtures import materialize_shard, setup  # noqa: F401  (calibrated_spec stand-in)

GENERATION = {"seed": 3, "messages": 6_000, "users": 40, "conversations": 50}
SOURCE_URL_VAR = "SYNTH_TEST_SOURCE_URL"  # the source_db resource's variable (SYNTH_SOURCE_URL in the code location)


@pytest.fixture
def resources(pg_dsn: str, pg_admin_dsn: str, tmp_path: Path, monkeypatch, isolated_state) -> dict:
    monkeypatch.setenv("SYNTH_TEST_PERF_URL", pg_dsn)
    monkeypatch.setenv("SYNTH_TEST_ADMIN_URL", pg_admin_dsn)
    monkeypatch.delenv("SYNTH_PERF_ENV", raising=False)
    monkeypatch.delenv(SOURCE_URL_VAR, raising=False)  # no production source named unless a test sets it
    return {
        "perf_target": PerfTarget(url_env="SYNTH_TEST_PERF_URL"),
        "source_db": PostgresDatabase(url_env=SOURCE_URL_VAR),
        "admin_db": PostgresDatabase(url_env="SYNTH_TEST_ADMIN_URL"),
        "storage": PipelineStorage(root=str(tmp_path / "storage")),
    }


def test_real_graph_from_shards_to_a_verified_schema(setup, resources: dict) -> None:
    instance, generation_resources, calibrated_spec_stand_in, _ = setup  # generation_fixtures' stand-in spec
    resources = {**resources, **generation_resources}
    for key in shard_partitions.get_partition_keys():
        assert materialize_shard(setup, key, GENERATION, resources=resources).success
    assets = [shard_manifest, synthetic_shards, calibrated_spec_stand_in, loaded_schema, loaded_schema_integrity]
    assert dg.materialize(assets, selection=[shard_manifest], instance=instance, resources=resources).success
    result = dg.materialize(assets, selection=["loaded_schema"], instance=instance, resources=resources,
                            run_config={"ops": {"loaded_schema": {"config": {"schema_name": "synth_dagster", "mapping": "prisma"}}}})
    assert result.success
    value = result.output_for_node("loaded_schema")
    assert value["schema"] == "synth_dagster" and value["rows"]["messages"] == 6_000 and value["env"] is None
    metadata = result.asset_materializations_for_node("loaded_schema")[0].metadata
    assert metadata["total_rows"].value == sum(value["rows"].values())
    check = check_evaluation(result)
    assert check.passed and check.metadata["checks"].value["identity.real_email_count"] == 0


def test_blocking_integrity_check_stops_downstream_assets(resources: dict, shard_dir: Path, pg_dsn: str) -> None:
    @dg.asset(name="shard_manifest")
    def shard_manifest_stand_in() -> str:
        return str(shard_dir / "manifest.json")

    @dg.asset(ins={"loaded_schema": dg.AssetIn()})
    def downstream_probe(loaded_schema: dict) -> str:
        return loaded_schema["schema"]

    assets = [shard_manifest_stand_in, loaded_schema, loaded_schema_integrity, downstream_probe]
    config = {"ops": {"loaded_schema": {"config": {"schema_name": "synth_blocking"}}}}
    first = dg.materialize(assets, resources=resources, run_config=config)
    assert first.success and check_evaluation(first).passed
    assert first.asset_materializations_for_node("downstream_probe")
    with psycopg.connect(pg_dsn) as conn:  # break the identity contract behind the loader's back
        conn.execute("INSERT INTO synth_blocking.users VALUES (9999, 'real.person@example.com', 'synuser9999', 'User', "
                     "'9999', NULL, 'web', true, now())")
    second = dg.materialize(assets, resources=resources, run_config=config, raise_on_error=False)
    check = check_evaluation(second)
    assert not check.passed and set(check.metadata["failed"].value) == {"rows.users", "identity.real_email_count"}
    assert not second.asset_materializations_for_node("downstream_probe")
    assert "real.person" not in str(check.metadata)


def test_ttl_sensor_requests_a_teardown_per_expired_load(resources: dict, shard_dir: Path, pg_dsn: str) -> None:
    load_shards(shard_dir, pg_dsn, "synth_ttl_sensor", ttl_days=0)
    load_shards(shard_dir, pg_dsn, "synth_ttl_fresh", ttl_days=30)
    evaluation = ttl_sensor(dg.build_sensor_context())
    assert isinstance(evaluation, dg.SensorResult)
    [request] = evaluation.run_requests
    config = request.run_config["ops"]["drop_expired_load"]["config"]
    assert config["schema_name"] == "synth_ttl_sensor" and config["env"] == ""
    assert request.run_key == f"ttl-{config['run_id']}-synth_ttl_sensor"
    assert "password" not in config["target"]
    assert ttl_teardown_job.execute_in_process(run_config=request.run_config, resources=resources).success
    with psycopg.connect(pg_dsn) as conn:
        schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'synth_ttl%'")}
    assert schemas == {"synth_ttl_fresh"}
    assert isinstance(ttl_sensor(dg.build_sensor_context()), dg.SkipReason)


def _teardown(resources: dict, **config) -> dg.ExecuteInProcessResult:
    return teardown_job.execute_in_process(run_config={"ops": {"teardown_op": {"config": config}}}, resources=resources,
                                           raise_on_error=False)


def test_teardown_job_needs_the_name_typed_back(resources: dict, shard_dir: Path, pg_dsn: str, pg_admin_dsn: str,
                                                provisioner) -> None:
    load_shards(shard_dir, pg_dsn, "synth_job_td")
    refused = _teardown(resources, schema_name="synth_job_td", target=pg_dsn, confirm="synth_other")
    assert not refused.success
    failure = next(e for e in refused.all_events if e.event_type_value == "STEP_FAILURE")
    assert "--confirm must repeat the schema name" in failure.event_specific_data.error.to_string()
    assert _teardown(resources, schema_name="synth_job_td", target=pg_dsn, confirm="synth_job_td").success
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT to_regnamespace('synth_job_td')").fetchone()[0] is None
    provisioner("dev", pg_admin_dsn)
    assert not _teardown(resources, env="dev").success
    assert database_exists(pg_admin_dsn, "chat_perf_dev")
    assert _teardown(resources, env="dev", confirm="dev").success
    assert not database_exists(pg_admin_dsn, "chat_perf_dev")


def _schema_exists(dsn: str, schema: str) -> bool:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT to_regnamespace(%s) IS NOT NULL", (schema,)).fetchone()[0]


def test_loaded_schema_refuses_the_sampled_production_database(resources: dict, shard_dir: Path, pg_dsn: str,
                                                                monkeypatch) -> None:
    """source_db (the database the sampler reads) and perf_target resolve to the same database: refused
    before anything is written, even though SYNTH_SOURCE_URL itself is unset (the resource reads another
    variable)."""
    @dg.asset(name="shard_manifest")
    def shard_manifest_stand_in() -> str:
        return str(shard_dir / "manifest.json")

    monkeypatch.setenv(SOURCE_URL_VAR, pg_dsn)
    result = dg.materialize([shard_manifest_stand_in, loaded_schema], resources=resources, raise_on_error=False,
                            run_config={"ops": {"loaded_schema": {"config": {"schema_name": "synth_into_source"}}}})
    assert not result.success
    line = failure_description(result)
    assert line.startswith("refused: target") and "production source" in line and len(line.splitlines()) == 1
    assert not _schema_exists(pg_dsn, "synth_into_source")
    # SYNTH_SOURCE_URL names the same database: refused as well
    monkeypatch.delenv(SOURCE_URL_VAR)
    monkeypatch.setenv("SYNTH_SOURCE_URL", pg_dsn)
    again = dg.materialize([shard_manifest_stand_in, loaded_schema], resources=resources, raise_on_error=False,
                           run_config={"ops": {"loaded_schema": {"config": {"schema_name": "synth_into_source"}}}})
    assert not again.success and "production source" in failure_description(again)
    assert not _schema_exists(pg_dsn, "synth_into_source")


def test_teardown_ops_refuse_the_production_source(resources: dict, shard_dir: Path, pg_dsn: str, monkeypatch) -> None:
    load_shards(shard_dir, pg_dsn, "synth_source_td", ttl_days=0)
    monkeypatch.setenv(SOURCE_URL_VAR, pg_dsn)
    refused = _teardown(resources, schema_name="synth_source_td", target=pg_dsn, confirm="synth_source_td")
    assert not refused.success and failure_description(refused).startswith("refused: target")
    [request] = ttl_sensor(dg.build_sensor_context()).run_requests
    expired = ttl_teardown_job.execute_in_process(run_config=request.run_config, resources=resources, raise_on_error=False)
    assert not expired.success and "production source" in failure_description(expired)
    assert _schema_exists(pg_dsn, "synth_source_td")
    monkeypatch.delenv(SOURCE_URL_VAR)
    assert _teardown(resources, schema_name="synth_source_td", target=pg_dsn, confirm="synth_source_td").success
    assert not _schema_exists(pg_dsn, "synth_source_td")

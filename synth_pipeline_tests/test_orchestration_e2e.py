"""The end-to-end privacy test (the seeds' e2e-privacy-pipeline), all through Dagster:

production-like database with canaries -> quarterly schedule samples it into the landing
directory -> landing sensor registers the pack and runs it through the blocking PII gate and
calibration -> spec sensor generates every shard partition -> reproducibility (same seed, same
checksums) -> shards sensor loads the shard set with the blocking integrity check, then fidelity
and baselines -> teardown job with the typed confirmation. No canary or source value reaches any
artifact, log or metadata, and nothing is left in the perf database after teardown.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from synth_pipeline.definitions import defs
from synth_pipeline.defs.orchestration.schedules import quarterly_refresh_schedule
from synth_pipeline.defs.orchestration.sensors import landing_sensor, shards_complete_sensor, spec_ready_sensor
from synth_pipeline.defs.partitions import PACK_PARTITIONS_NAME
from synth_pipeline.defs.resources import LandingDirectory, PostgresDatabase
from synth_pipeline_tests.helpers import isolate_state
from synth_pipeline_tests.dagster_fixtures import check_passed, metadata_values
from synth_pipeline_tests.pg import create_database, drop_database
from synth_pipeline_tests.sampler_fixtures import build_small

pytestmark = pytest.mark.slow

SALT = "e2e-orchestration-salt-0123456789abcdef"
QUARTER_START = datetime(2026, 10, 1, 3, 0, tzinfo=timezone.utc)
SYNTHETIC_MESSAGES = 40_000
SEED = 7


@pytest.fixture(scope="module")
def production(pg_dsn: str):
    report = build_small(pg_dsn, messages=30_000, seed=5, canaries=12)
    return pg_dsn, report


@pytest.fixture()
def perf_dsn(pg_admin_dsn: str):
    name, dsn = create_database(pg_admin_dsn, "e2e_perf")
    yield dsn
    drop_database(pg_admin_dsn, name)


@pytest.fixture()
def pipeline_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, production, perf_dsn: str) -> Path:
    state = isolate_state(monkeypatch, tmp_path) / "state"
    monkeypatch.setenv("ANONYMIZATION_SALT", SALT)
    monkeypatch.setenv("SYNTH_SOURCE_URL", production[0])
    monkeypatch.setenv("SYNTH_PERF_URL", perf_dsn)
    monkeypatch.setenv("SYNTH_GENERATION_MESSAGES", str(SYNTHETIC_MESSAGES))
    monkeypatch.setenv("SYNTH_SEED", str(SEED))
    monkeypatch.delenv("SYNTH_PERF_ENV", raising=False)
    return state


def _execute(instance: dg.DagsterInstance, job_name: str, requests) -> list[dg.ExecuteInProcessResult]:
    job = defs.resolve_job_def(job_name)
    results = []
    for request in requests:
        result = job.execute_in_process(instance=instance, run_config=request.run_config or {},
                                        partition_key=request.partition_key, tags=request.tags)
        assert result.success, f"{job_name} {request.partition_key} failed"
        results.append(result)
    return results


def _sensor_context(instance: dg.DagsterInstance, cursor: str | None = None, **resources) -> dg.SensorEvaluationContext:
    return dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs, resources=resources or None)


def _latest_metadata(instance: dg.DagsterInstance, asset: str, partition: str | None = None) -> dict:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition] if partition else None), limit=1
    ).records
    assert records, f"{asset} {partition or ''} was not materialized"
    return metadata_values(records[0].asset_materialization.metadata)


def _parquet_strings(path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    for column, field in zip(table.columns, table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            yield from (value for value in column.to_pylist() if value)


def _files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def test_whole_pipeline_through_dagster_leaks_nothing_and_leaves_nothing(pipeline_env: Path, production, perf_dsn: str) -> None:
    source_dsn, report = production
    with dg.instance_for_test() as instance:
        # 1. The quarterly schedule samples production into the landing directory.
        tick = quarterly_refresh_schedule.evaluate_tick(
            dg.build_schedule_context(instance=instance, scheduled_execution_time=QUARTER_START,
                                      resources={"source_db": PostgresDatabase(url_env="SYNTH_SOURCE_URL")}))
        assert [r.run_key for r in tick.run_requests] == ["2026q4"]
        _execute(instance, "quarterly_sample_job", tick.run_requests)
        landing = LandingDirectory()
        assert landing.pack_path("2026q4").exists()

        # 2. The landing sensor registers the pack and runs it to a spec (through the blocking PII check).
        first = landing_sensor(_sensor_context(instance, landing=landing))
        assert isinstance(first, dg.SensorResult) and [r.partition_key for r in first.run_requests] == ["2026q4"]
        for request in first.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        assert instance.get_dynamic_partitions(PACK_PARTITIONS_NAME) == ["2026q4"]
        [spec_run] = _execute(instance, "pack_to_spec_job", first.run_requests)
        assert check_passed(spec_run, "metrics_pack", "no_personal_data")
        spec_path = Path(_latest_metadata(instance, "calibrated_spec", "2026q4")["spec_path"])
        assert spec_path.exists()
        again = landing_sensor(_sensor_context(instance, cursor=first.cursor, landing=landing))
        assert isinstance(again, dg.SkipReason), "the landing sensor is idempotent"

        # 3. The spec sensor requests every shard partition with one config; generate them.
        shard_tick = spec_ready_sensor.evaluate_tick(_sensor_context(instance))
        shard_requests = shard_tick.run_requests
        assert len(shard_requests) == len(defs.resolve_job_def("generate_shards_job").partitions_def.get_partition_keys())
        assert shards_complete_sensor(_sensor_context(instance)).__class__ is dg.SkipReason
        _execute(instance, "generate_shards_job", shard_requests)

        # 4. Reproducibility: the same spec, seed and size generate the same bytes outside Dagster.
        from synth_pipeline.generator import generate, load_spec, resolve_sizes

        first_shard = _latest_metadata(instance, "synthetic_shards", "shard-00000")
        _, sizes = resolve_sizes(load_spec(spec_path), messages=SYNTHETIC_MESSAGES)
        replay = generate(spec_path, pipeline_env / "replay", seed=SEED, band=sizes, n_shards=len(shard_requests) - 1,
                          progress=None)
        dagster_dir = Path(first_shard["shard_dir"])
        for file in Path(replay.manifest_path).parent.rglob("*.parquet"):
            relative = file.relative_to(Path(replay.manifest_path).parent)
            assert (dagster_dir / relative).read_bytes() == file.read_bytes(), f"{relative} differs"

        # 5. All shards present: load, blocking integrity check, fidelity and baselines.
        load_tick = shards_complete_sensor(_sensor_context(instance))
        assert isinstance(load_tick, dg.SensorResult) and len(load_tick.run_requests) == 1
        [load_run] = _execute(instance, "load_and_prove_job", load_tick.run_requests)
        assert check_passed(load_run, "loaded_schema", "integrity")
        loaded = _latest_metadata(instance, "loaded_schema")
        assert loaded["total_rows"] > SYNTHETIC_MESSAGES
        fidelity = _latest_metadata(instance, "fidelity_report")
        # 30k production and 40k synthetic messages: the overall score holds the 0.90 bar; single
        # metrics of so few heavy rooms are noisy (the round-trip test holds each at 0.80 on more data).
        assert 0.90 <= fidelity["overall"] <= 1.0
        assert _latest_metadata(instance, "query_baselines")["baselines"]
        assert isinstance(shards_complete_sensor(_sensor_context(instance, cursor=load_tick.cursor)), dg.SkipReason)
        for asset, partition in [("metrics_pack", "2026q4"), ("validated_pack", "2026q4"), ("calibrated_spec", "2026q4"),
                                 ("synthetic_shards", "shard-00000"), ("shard_manifest", None)]:
            assert _latest_metadata(instance, asset, partition)["duration_s"] >= 0, f"{asset} records its duration"
        assert _latest_metadata(instance, "validated_pack", "2026q4")["totals"]["messages"] > 0

        # 6. Teardown needs the name typed back; afterwards nothing of ours is left in the perf database.
        schema = loaded["schema"]
        teardown = defs.resolve_job_def("teardown_job")
        refused = teardown.execute_in_process(
            instance=instance, raise_on_error=False,
            run_config={"ops": {"teardown_op": {"config": {"schema_name": schema, "target": perf_dsn, "confirm": "yes"}}}})
        assert not refused.success
        done = teardown.execute_in_process(
            instance=instance,
            run_config={"ops": {"teardown_op": {"config": {"schema_name": schema, "target": perf_dsn, "confirm": schema}}}})
        assert done.success
        with psycopg.connect(perf_dsn) as conn:
            schemas = {r[0] for r in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' AND nspname <> 'information_schema'")}
        assert schemas == {"public"}, f"left behind: {schemas - {'public'}}"

        # 7. No canary or source value in any artifact, log, metadata or Dagster storage file.
        needles = [n.lower() for n in (*report.canaries, *report.emails, *report.usernames, *report.names)]
        assert len(report.canaries) >= 12
        files = _files_under(pipeline_env, Path(instance.root_directory))
        assert any(p.suffix == ".parquet" for p in files) and any(p.name.endswith(".db") for p in files)
        for path in files:
            text = path.read_bytes().decode("latin-1").lower()
            leaked = [n for n in needles if n in text]
            assert not leaked, f"{path.name} carries {len(leaked)} source value(s)"
        # Parquet pages are zstd-compressed, so their raw bytes hide values: read every string column.
        scanned_strings = 0
        for path in (p for p in files if p.suffix == ".parquet"):
            strings = list(_parquet_strings(path))
            scanned_strings += len(strings)
            text = "\n".join(strings).lower()  # one search per needle instead of one per value
            assert not [n for n in needles if n in text], f"{path.name} carries a source value"
        assert scanned_strings > SYNTHETIC_MESSAGES, "the message bodies and identities were scanned"
        for run in instance.get_runs():
            for entry in instance.all_logs(run.run_id):
                text = json.dumps(str(entry)).lower()
                assert not [n for n in needles if n in text], f"run {run.job_name} logged a source value"

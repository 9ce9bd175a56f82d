"""`synth-pipeline demo`: the whole pipeline on the embedded PostgreSQL server, dev band, through
Dagster, exactly as the sensors chain it in production:

production-like fake database -> provision the dev perf database -> quarterly job samples it into
the landing directory -> landing sensor -> metrics_pack, blocking PII check, validated_pack,
calibrated_spec -> spec sensor -> every synthetic_shards partition -> shards sensor ->
shard_manifest, loaded_schema (blocking integrity check), fidelity_report, query_baselines ->
summary -> teardown (unless --keep).

Runs are recorded in a persistent Dagster instance (PostgreSQL storage in the embedded server's
`dagster` database), so `make ui` shows every run, materialization and check afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from synth_pipeline.cliutil import non_negative_int, positive_int
from synth_pipeline.infra import embedded_pg
from synth_pipeline.infra.dsn import ensure_database, redact_dsn
from synth_pipeline.paths import state_dir

PRODUCTION_DATABASE = "synth_demo_production"
DEMO_PACK = "demo"
DEMO_ENV = "dev"
DEMO_SALT = "synth-pipeline-demo-salt-not-a-secret"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
DEV_BAND_MESSAGES = 5_000_000
DEMO_BASELINES = {"runs": 2, "write_rows": 5000}  # DESIGN's dev band is 5M messages: keep the demo short


class Steps:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def say(self, message: str) -> None:
        print(f"[demo {time.monotonic() - self.started:6.1f}s] {message}", flush=True)


def _merged_config(request_config, extra: dict | None = None) -> dict:
    import dagster as dg

    config = request_config.to_config_dict() if isinstance(request_config, dg.RunConfig) else dict(request_config or {})
    for key, value in {**QUIET, **(extra or {})}.items():
        config[key] = {**config.get(key, {}), **value}
    return config


def _execute(instance, job_name: str, requests: Iterable, extra: dict | None = None) -> list:
    from synth_pipeline.definitions import defs
    from synth_pipeline.errors import SynthError

    job = defs.resolve_job_def(job_name)
    results = []
    for request in requests:
        result = job.execute_in_process(instance=instance, run_config=_merged_config(request.run_config, extra),
                                        partition_key=request.partition_key, tags=request.tags, raise_on_error=False)
        if not result.success:
            failures = [e.message for e in result.all_events if e.is_failure]
            raise SynthError(f"{job_name} failed: {failures[-1] if failures else 'see the run in the UI (make ui)'}")
        results.append(result)
    return results


def _metadata(result, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    return {}


def _run_record(shard_dir: str | None, run_id: object) -> str:
    """Where `run_<id>.json` lies beside the shards: a local path or, with SYNTH_SHARD_STORE=s3://...,
    the object's URI (before its query, without credentials)."""
    from synth_pipeline.infra.shard_store import display, join

    return display(join(shard_dir or ".", f"run_{run_id}.json"))


def _check_passed(result, asset: str, check: str) -> bool:
    evaluations = [e.asset_check_evaluation_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    return any(e.passed for e in evaluations if e.asset_key.to_user_string() == asset and e.check_name == check)


def _prepare_environment(admin_dsn: str, args: argparse.Namespace, demo_dir: Path) -> None:
    from synth_pipeline.infra.dagster_home import prepare_dagster_home

    env = prepare_dagster_home(admin_dsn)
    os.environ["DAGSTER_HOME"], os.environ["DAGSTER_PG_URL"] = env["DAGSTER_HOME"], env["DAGSTER_PG_URL"]
    landing = demo_dir / "landing"
    shutil.rmtree(landing, ignore_errors=True)
    os.environ.update({
        "SYNTH_LANDING_DIR": str(landing),
        "SYNTH_ENV": DEMO_ENV,
        "SYNTH_PERF_ENV": DEMO_ENV,
        "SYNTH_SEED": str(args.seed),
    })
    if args.messages:
        os.environ["SYNTH_GENERATION_MESSAGES"] = str(args.messages)


def run_demo(args: argparse.Namespace) -> int:
    import dagster as dg

    from synth_pipeline.defs.orchestration.jobs import QuarterlySampleConfig
    from synth_pipeline.defs.orchestration.sensors import landing_sensor, shards_complete_sensor, spec_ready_sensor
    from synth_pipeline.defs.resources import LandingDirectory
    from synth_pipeline.definitions import defs
    from synth_pipeline.loader.provision import provision
    from synth_pipeline.sampler.fake_production import build_fake_production

    steps = Steps()
    admin_dsn = embedded_pg.resolve_database_url()
    steps.say(f"PostgreSQL: {redact_dsn(admin_dsn)}")
    demo_dir = state_dir() / "demo"
    _prepare_environment(admin_dsn, args, demo_dir)
    if not os.environ.get("ANONYMIZATION_SALT"):
        os.environ["ANONYMIZATION_SALT"] = DEMO_SALT
        steps.say("ANONYMIZATION_SALT is not set: using a fixed demo salt (never do this with real production data)")

    source = ensure_database(admin_dsn, PRODUCTION_DATABASE, recreate=True)
    os.environ["SYNTH_SOURCE_URL"] = source
    fake = build_fake_production(source, messages=args.production_messages, seed=7, replace=True)
    steps.say(f"production-like FAKE database {PRODUCTION_DATABASE}: {fake.rows.get('messages', 0):,} messages with "
              f"{len(fake.canaries)} planted canaries ({fake.seconds:.1f} s)")

    provisioned = provision(DEMO_ENV, admin_dsn)
    steps.say(f"provisioned {provisioned.database}: owner, app and read-only roles; secrets in {provisioned.secrets_file}")
    for item in provisioned.not_enabled:
        steps.say(f"  not enabled here: {item}")

    instance = dg.DagsterInstance.get()
    sample_request = dg.RunRequest(run_config=dg.RunConfig(
        ops={"sample_production_into_landing": QuarterlySampleConfig(pack_id=DEMO_PACK)}))
    _execute(instance, "quarterly_sample_job", [sample_request])
    steps.say(f"sampled aggregates only into the landing directory: {LandingDirectory().pack_path(DEMO_PACK)}")

    landed = landing_sensor(dg.build_sensor_context(instance=instance, resources={"landing": LandingDirectory()}))
    for request in getattr(landed, "dynamic_partitions_requests", []):
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    [spec_run] = _execute(instance, "pack_to_spec_job", [r for r in landed.run_requests if r.partition_key == DEMO_PACK])
    spec = _metadata(spec_run, "calibrated_spec")
    steps.say(f"privacy gate passed; spec v{spec.get('spec_version')} calibrated "
              f"({spec.get('poor_fit_count')} poor fits): {spec.get('spec_path')}")

    shard_tick = spec_ready_sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs))
    shard_dir = None
    for result in _execute(instance, "generate_shards_job", shard_tick.run_requests):
        meta = _metadata(result, "synthetic_shards")
        rows = sum(meta.get("rows", {}).values())
        seconds = _run_seconds(instance, result.run_id)
        shard_dir = meta.get("shard_dir", shard_dir)
        steps.say(f"  generated {result.dagster_run.tags.get('dagster/partition')}: {rows:,} rows in {seconds:.1f} s "
                  f"(run included; {rows / max(seconds, 1e-9):,.0f} rows/s)")

    load_tick = shards_complete_sensor(dg.build_sensor_context(instance=instance))
    [load_run] = _execute(instance, "load_and_prove_job", load_tick.run_requests,
                          extra={"ops": {"query_baselines": {"config": DEMO_BASELINES}}})
    loaded = _metadata(load_run, "loaded_schema")
    steps.say(f"loaded {loaded.get('total_rows', 0):,} rows into {provisioned.database}.{loaded.get('schema')} "
              f"(COPY {loaded.get('copy_seconds')} s, keys and indexes {loaded.get('index_seconds')} s); "
              f"integrity check passed; expires {loaded.get('expires_at')}")
    fidelity = _metadata(load_run, "fidelity_report")
    baselines = _metadata(load_run, "query_baselines")

    print()
    check = "passed" if _check_passed(load_run, "fidelity_report", "fidelity_above_threshold") else "FAILED"
    print(f"Fidelity (synthetic vs production shape): {fidelity.get('overall')}  (threshold check {check}; "
          f"worst metric: {fidelity.get('worst_metric')})")
    print(f"  full report: {fidelity.get('report_path')}")
    print()
    print("Query baselines (EXPLAIN ANALYZE before -> after the recommended indexes):")
    print(baselines.get("baselines", "(none)"))
    print()
    print("Where everything is:")
    print(f"  metrics pack   {LandingDirectory().pack_path(DEMO_PACK)}")
    print(f"  spec           {spec.get('spec_path')}")
    print(f"  shards         {shard_dir}")
    # run_<id>.json beside the shards outlives the teardown; synth_meta.load_runs goes with the database.
    print(f"  load record    {_run_record(shard_dir, loaded.get('run_id'))} "
          f"(and synth_meta.load_runs of {loaded.get('schema')} in {provisioned.database} until teardown)")
    print("  Dagster UI     make ui   (then open http://127.0.0.1:3000: runs, assets, checks of this demo)")
    if args.keep:
        print(f"  kept: tear down with  .venv/bin/synth-pipeline teardown --env {DEMO_ENV} --confirm {DEMO_ENV}")
    else:
        _execute(instance, "teardown_job", [dg.RunRequest(run_config={
            "ops": {"teardown_op": {"config": {"env": DEMO_ENV, "confirm": DEMO_ENV}}}})])
        print(f"  torn down      {provisioned.database}, its roles and secrets (run with --keep to inspect it)")
    steps.say("done")
    return 0


def _run_seconds(instance, run_id: str) -> float:
    stats = instance.get_run_stats(run_id)
    return (stats.end_time - stats.start_time) if stats.end_time and stats.start_time else 0.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the whole pipeline on the embedded PostgreSQL server (dev band) through Dagster",
        description="Builds a FAKE production-like database, then runs every stage through Dagster (sample, "
        "privacy gate, calibrate, generate the dev band, provision, load, verify, fidelity, baselines) and "
        "tears the perf database down unless --keep. Runs are kept in the Dagster instance: `make ui`.",
    )
    parser.add_argument("--keep", action="store_true", help="leave the loaded perf database for inspection")
    parser.add_argument("--seed", type=non_negative_int, default=42, help="generation seed (default 42)")
    parser.add_argument("--messages", type=positive_int, default=DEV_BAND_MESSAGES,
                        help="synthetic messages (default: the dev band's 5,000,000); users and conversations follow "
                        "the production pack's ratios, so that fidelity compares like with like")
    parser.add_argument("--production-messages", type=positive_int, default=300_000,
                        help="size of the fake production database (default 300000)")
    parser.set_defaults(handler=run_demo)

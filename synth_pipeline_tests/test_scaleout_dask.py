"""The scale-out proof: `scale_out_dask_job` on a local Dask cluster of two worker processes.

Generation (one step per partition) and the load run as Dask tasks in other processes, with a
persistent Dagster instance, a FilesystemIOManager and the shard store on a shared temporary path.
The result must equal a single-process run of the same spec, seed, sizes and shard count: the
same manifest (per-file sha256, bytes and rows) and the same row counts once loaded.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psutil
import psycopg
import pytest

from synth_pipeline.contracts.shard_manifest import ShardManifest
from synth_pipeline.defs.scaleout.jobs import build_scale_out_job
from synth_pipeline.fsutil import sha256_file
from synth_pipeline.generator import generate, load_spec, resolve_sizes
from synth_pipeline.loader.load import load_shards
from synth_pipeline.paths import REFERENCE_SPEC
from synth_pipeline.schema.mapping import load_mapping
from synth_pipeline_tests.helpers import isolate_state

SEED = 11
MESSAGES = 30_000
SHARDS = 3
DASK_SCHEMA = "synth_scaleout_dask"
SINGLE_SCHEMA = "synth_scaleout_single"
SHUTDOWN_TIMEOUT_S = 30
STEPS = ["generate_users", *(f"generate_shard_{k:05d}" for k in range(SHARDS))]


@pytest.fixture()
def scaleout_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_dsn: str) -> Path:
    """Set before the Dask workers start: spawned workers inherit this environment (the load
    step's DSN comes from SYNTH_PERF_URL, never from run config)."""
    isolate_state(monkeypatch, tmp_path)
    monkeypatch.setenv("SYNTH_PERF_URL", pg_dsn)
    for name in ("SYNTH_PERF_ENV", "SYNTH_ENV"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _stop(pids: set[int]) -> set[int]:
    """Wait for our own worker processes to exit; kill (by pid) any still there. Returns the leftovers."""
    procs = [p for p in (_process(pid) for pid in pids) if p is not None]
    _, alive = psutil.wait_procs(procs, timeout=SHUTDOWN_TIMEOUT_S)
    for proc in alive:
        proc.kill()
    return {proc.pid for proc in alive}


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


@pytest.fixture()
def dask_cluster(scaleout_env: Path) -> Iterator[tuple[str, set[int]]]:
    """A local Dask cluster of two single-threaded worker processes: (scheduler address, worker pids).

    The test owns the cluster (the executor connects to it as `existing`), so it is closed here
    whatever happens, and the worker processes are checked gone afterwards."""
    from multiprocessing import resource_tracker

    from dask.distributed import Client, LocalCluster

    resource_tracker.ensure_running()  # this interpreter's helper, shared and kept for its lifetime: not ours to stop
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    started = {child.pid for child in psutil.Process().children(recursive=True)} - before
    try:
        with Client(cluster) as client:
            worker_pids = set(client.run(os.getpid).values())
        assert len(worker_pids) == 2 and os.getpid() not in worker_pids
        yield cluster.scheduler_address, worker_pids
    finally:
        cluster.close(timeout=SHUTDOWN_TIMEOUT_S)
        leftovers = _stop(started)
    assert not leftovers, f"Dask processes {sorted(leftovers)} were still running after the cluster closed"


def _run_config(address: str, base: Path) -> dict:
    return {
        "execution": {"config": {"cluster": {"existing": {"address": address}}}},
        "resources": {
            "io_manager": {"config": {"base_dir": str(base / "io")}},
            "shard_set": {"config": {"seed": SEED, "messages": MESSAGES, "shard_store": str(base / "shard-store")}},
        },
        "ops": {"load_shard_set": {"config": {"schema_name": DASK_SCHEMA}}},
    }


def _files(manifest: ShardManifest) -> dict[str, tuple[str, int, int]]:
    return {f.path: (f.sha256, f.rows, f.bytes) for p in manifest.partitions for f in p.files}


def _counts(dsn: str, schema: str, tables) -> dict[str, int]:
    mapping = load_mapping("reference")
    with psycopg.connect(dsn) as conn:
        return {t: conn.execute(psycopg.sql.SQL("SELECT count(*) FROM {}").format(mapping.table(schema, t))).fetchone()[0]
                for t in tables}


@pytest.mark.slow
def test_dask_run_equals_single_process_run(dask_cluster: tuple[str, set[int]], scaleout_env: Path, pg_dsn: str) -> None:
    address, worker_pids = dask_cluster
    base = scaleout_env

    (base / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(base / "dagster")) as instance:
        # Rebuilt by the workers from module + function + kwargs: the job for K = 3 on dagster-dask.
        job = dg.build_reconstructable_job("synth_pipeline.defs.scaleout.jobs", "build_scale_out_job",
                                           reconstructable_kwargs={"n_shards": SHARDS, "executor": "dask"})
        with dg.execute_job(job, instance=instance, run_config=_run_config(address, base)) as result:
            assert result.success, [e.message for e in result.all_events if e.is_failure]
            succeeded = {e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
            built = {step: result.output_for_node(step) for step in STEPS}
            manifest_path = Path(result.output_for_node("write_shard_manifest"))
            loaded = result.output_for_node("load_shard_set")

    # Every partition was its own step, run by a Dask worker process, not by this one.
    assert succeeded == {*STEPS, "write_shard_manifest", "load_shard_set"}
    assert sorted(v["partition"] for v in built.values()) == ["shard-00000", "shard-00001", "shard-00002", "users"]
    step_pids = {v["pid"] for v in built.values()}
    assert len(step_pids) >= 2, f"all partitions ran in one process {step_pids}"
    assert step_pids <= worker_pids and os.getpid() not in step_pids
    assert loaded["pid"] in worker_pids

    # The single-process run: same spec, seed, sizes and shard count, another directory.
    _, sizes = resolve_sizes(load_spec(REFERENCE_SPEC), messages=MESSAGES)
    single = generate(REFERENCE_SPEC, base / "single", seed=SEED, band=sizes, n_shards=SHARDS, progress=None)
    distributed = ShardManifest.model_validate_json(manifest_path.read_bytes())
    reference = ShardManifest.model_validate_json(single.manifest_path.read_bytes())
    assert _files(distributed) == _files(reference)
    assert distributed.table_rows == reference.table_rows
    assert manifest_path.read_bytes() == single.manifest_path.read_bytes()
    for path, (sha256, _, _) in _files(distributed).items():  # the files the workers wrote are what the manifest says
        assert sha256_file(manifest_path.parent / path) == sha256, path

    # Loaded: the same rows per table as the single-process shard set loaded by the loader itself.
    load_shards(single.out_dir, pg_dsn, SINGLE_SCHEMA)
    tables = list(reference.table_rows)
    assert loaded["status"] == "COMPLETED" and loaded["schema"] == DASK_SCHEMA
    assert _counts(pg_dsn, DASK_SCHEMA, tables) == _counts(pg_dsn, SINGLE_SCHEMA, tables) == reference.table_rows


def test_object_store_uri_with_credentials_is_refused_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An s3:// shard store is accepted (test_shard_store_s3.py runs the job against a local S3
    server), but not one carrying credentials: run config lands in the event log; keys come from
    the environment (docs/scale-out.md). Refused before anything is written or any request is made."""
    monkeypatch.setenv("SYNTH_STATE_DIR", str(tmp_path / "state"))
    store = "s3://AKIAEXAMPLE:notasecret@bucket/shards"
    config = {"resources": {"shard_set": {"config": {"messages": 2_000, "shard_store": store}}}}
    result = build_scale_out_job(1).execute_in_process(run_config=config, raise_on_error=False)
    assert not result.success
    description = result.failure_data_for_node("generate_users").user_failure_data.description
    assert description.startswith("shard_store s3://bucket/shards: the URI carries credentials; give them in the environment")
    assert "notasecret" not in description and "\n" not in description
    assert not list(tmp_path.rglob("*.parquet"))

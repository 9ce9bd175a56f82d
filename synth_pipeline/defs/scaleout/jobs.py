"""The scale-out job: generate a shard set with one step per partition, then load it.

    generate_users, generate_shard_00000, ..., generate_shard_{K-1}   (independent steps)
        └─> write_shard_manifest (fan-in) ──> load_shard_set

Each op is a thin shell over core calls (`plan_for` + `generate_partition`,
`plan_for` + `write_manifest`, `load_shards`); each partition is its own execution step,
so any executor that runs steps in other processes or machines (dagster-dask, dagster-k8s,
dagster-celery) spreads the generation. A distributed executor needs an IO manager and a shard
store every step can reach: a shared mount or an object-store URI such as `s3://bucket/prefix`
(credentials from the environment; docs/scale-out.md).

Design choices, each forced by what an executor does (docs/scale-out.md, "Why this shape"):
- Static fan-out, K fixed when the job is built (`build_scale_out_job(n_shards)`; the registered
  jobs use SYNTH_GENERATION_SHARDS / SYNTH_ENV like `synthetic_shards`): dagster-dask runs no
  DynamicOutput-mapped step; it ran the planning step, skipped the rest and reported RUN_SUCCESS
  (dagster-io/dagster#9785).
- Every step plans for itself from one resource config (`ShardSet`) instead of receiving the plan
  from a planning step: Dask runs a task where its inputs are, so steps that all read one
  upstream output tend to run on that one worker (seen here); the plan is pure and cheap to
  redo (0.4 s dev band), and write_manifest checks that every partition has one generation key.
"""

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster_dask import dask_executor

from synth_pipeline.defs.generation.assets import N_SHARDS, manifest_metadata, partition_keys
from synth_pipeline.defs.loading.resources import PerfTarget
from synth_pipeline.defs.resources import PipelineStorage
from synth_pipeline.errors import SynthError
from synth_pipeline.paths import REFERENCE_SPEC

SCALE_OUT_SCHEMA = "synth_scaleout"
SHARDS_TAG = "synth/shards"  # K, set by build_scale_out_job: the steps exist for exactly these partitions


class ShardSet(dg.ConfigurableResource):
    """Which shard set the run builds: one value for every step (resource config, given once).
    K is the job's (`build_scale_out_job(n_shards)`), not config: the steps are fixed when the job is built."""

    spec_path: str = str(REFERENCE_SPEC)
    seed: int = 0
    band: str = "dev"  # dev | staging | perf; ignored when messages > 0
    messages: int = 0  # > 0: custom size, users and conversations from the spec's ratios
    # A directory every step mounts, or a pyarrow filesystem URI (s3://bucket/prefix?endpoint_override=...;
    # credentials from the environment, refused in the URI); empty: the storage resource's shard store
    # (PipelineStorage.shard_store, SYNTH_SHARD_STORE, else <storage>/shards in .synth/artifacts).
    shard_store: str = ""

    def plan(self, n_shards: int):  # -> GenerationPlan (imported lazily: definitions load without numpy)
        from synth_pipeline.generator import plan_for

        return plan_for(self.spec_path, self.band, self.seed, n_shards, messages=self.messages)

    def directory(self, plan, storage: PipelineStorage) -> Path | str:
        """<shard store>/<generation id>: shard sets of different generations never mix.
        A Path for a local store, else the URI (infra/shard_store.py)."""
        from synth_pipeline.generator import generation_id

        return storage.shards_location(generation_id(plan), store=self.shard_store)


class LoadShardSetConfig(dg.Config):
    schema_name: str = SCALE_OUT_SCHEMA  # outside a provisioned perf database it must start with synth_
    mapping: str = "reference"
    ttl_days: float = 30.0
    jobs: int = 2


@contextmanager
def _as_failure() -> Iterator[None]:
    """Input and check errors are the run's answer, not a crash: no retry, one line."""
    try:
        yield
    except SynthError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None


def _worker() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _job_shards(context: dg.OpExecutionContext) -> int:
    return int(context.job_def.tags[SHARDS_TAG])


def _step_name(partition: str) -> str:
    return "generate_" + partition.replace("-", "_")  # op names allow letters, digits and underscores


def _partition_of(step_name: str) -> str:
    return step_name.removeprefix("generate_").replace("_", "-")


@dg.op(description="Plan the generation (pure, the same in every step) and build, validate and write one "
       "partition into the shard store (generate_partition); the step's name says which partition.")
def generate_partition(context: dg.OpExecutionContext, shard_set: ShardSet, storage: PipelineStorage) -> dg.Output[dict]:
    from synth_pipeline.generator import generate_partition as build
    from synth_pipeline.infra.shard_store import display

    partition = _partition_of(context.op.name)
    with _as_failure():
        plan = shard_set.plan(_job_shards(context))
        shard_dir = shard_set.directory(plan, storage)
        started = time.perf_counter()
        files = build(plan, partition, shard_dir)
    seconds = time.perf_counter() - started
    rows = {f.table: f.rows for f in files}
    total = sum(rows.values())
    worker = _worker()
    context.log.info(f"{partition}: {total:,} rows in {seconds:.2f} s ({total / max(seconds, 1e-9):,.0f} rows/s) "
                     f"into {display(shard_dir)} on {worker['host']} pid {worker['pid']}")
    value = {"partition": partition, "shard_dir": display(shard_dir), "rows": rows, "bytes": sum(f.bytes for f in files),
             "seconds": seconds, **worker}
    return dg.Output(value, metadata={
        "rows": dg.MetadataValue.json(rows), "bytes": value["bytes"], "seconds": round(seconds, 3),
        "host": worker["host"], "pid": worker["pid"],
    })


@dg.op(description="Write manifest.json once every partition exists (write_manifest refuses a missing partition "
       "or one of another generation).")
def write_shard_manifest(context: dg.OpExecutionContext, shard_set: ShardSet, storage: PipelineStorage,
                         partitions: list[dict]) -> dg.Output[str]:
    from synth_pipeline.generator import write_manifest
    from synth_pipeline.infra.shard_store import display

    with _as_failure():
        plan = shard_set.plan(_job_shards(context))
        path = write_manifest(plan, shard_set.directory(plan, storage))
    workers = {p["partition"]: f"{p['host']}:{p['pid']}" for p in partitions}
    context.log.info(f"wrote {display(path)}: {len(partitions)} partitions built by {len(set(workers.values()))} processes")
    return dg.Output(str(path), metadata={
        **manifest_metadata(path),
        "workers": dg.MetadataValue.json(workers),
        "distinct_processes": len(set(workers.values())),
    })


@dg.op(description="Load the shard set into a schema of the perf target (load_shards); DSN from the perf_target resource.")
def load_shard_set(context: dg.OpExecutionContext, config: LoadShardSetConfig, perf_target: PerfTarget,
                   manifest_path: str) -> dg.Output[dict]:
    from synth_pipeline.infra.dsn import redact_dsn
    from synth_pipeline.infra.shard_store import parent
    from synth_pipeline.loader.load import load_shards
    from synth_pipeline.loader.registry import dsn_without_password

    with _as_failure():
        dsn = perf_target.dsn()
        result = load_shards(parent(manifest_path), dsn, config.schema_name, mapping=config.mapping,
                             ttl_days=config.ttl_days, jobs=config.jobs)
    target = redact_dsn(dsn_without_password(dsn))
    context.log.info(f"schema {result.schema}: run {result.run_id} {result.status}, {sum(result.rows.values()):,} rows")
    value = {"schema": result.schema, "run_id": result.run_id, "status": result.status, "rows": result.rows,
             "target": target, "expires_at": result.expires_at, **_worker()}
    return dg.Output(value, metadata={
        "schema": result.schema, "run_id": result.run_id, "rows": dg.MetadataValue.json(result.rows),
        "copy_seconds": round(result.copy_s, 2), "index_seconds": round(result.index_s, 2), "target": target,
    })


def _resources(io_manager: dg.ResourceDefinition | dg.IOManager | None) -> dict:
    return {"io_manager": io_manager or dg.FilesystemIOManager(), "shard_set": ShardSet(), "storage": PipelineStorage(),
            "perf_target": PerfTarget()}


EXECUTORS = {"default": None, "dask": dask_executor}


def build_scale_out_job(n_shards: int = N_SHARDS, executor: str | dg.ExecutorDefinition = "default",
                        io_manager: dg.ResourceDefinition | dg.IOManager | None = None) -> dg.JobDefinition:
    """The job for K = `n_shards`. `executor`: "default" (the code location's, by default one process
    per step), "dask", or any ExecutorDefinition (k8s_job_executor, celery_executor). Steps in other
    processes or machines need an IO manager they all reach (FilesystemIOManager on a shared path,
    S3 for pods) and a `shard_store` they all reach (a shared mount or an s3:// URI)."""
    executor_def = EXECUTORS[executor] if isinstance(executor, str) else executor
    partitions = partition_keys(n_shards)

    def scale_out() -> None:
        built = [generate_partition.alias(_step_name(p))() for p in partitions]
        load_shard_set(write_shard_manifest(built))

    name = "scale_out_job" if executor_def is None else f"scale_out_{executor_def.name}_job"
    return dg.job(name=name, executor_def=executor_def, resource_defs=_resources(io_manager),
                  tags={"synth/stage": "scale-out", SHARDS_TAG: str(n_shards)},
                  description=f"Generate a shard set ({n_shards} shards + users), one step per partition, "
                  "write its manifest, load it into a schema of the perf target.")(scale_out)


# In another process use dg.build_reconstructable_job(__name__, "build_scale_out_job", reconstructable_kwargs=...).
scale_out_job = build_scale_out_job()
# Run config execution.config.cluster chooses the cluster: local {n_workers, ...} or existing {address}.
scale_out_dask_job = build_scale_out_job(executor="dask")

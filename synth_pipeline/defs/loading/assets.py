"""`loaded_schema`: the shard set in an isolated schema of the perf target, keys and indexes built.

It consumes `shard_manifest` (the generator's aggregate of every `synthetic_shards` partition,
whose value is the manifest's path), so it runs once all shards exist. A thin shell over
`synth_pipeline.loader.load.load_shards`; the value (no password in it) names the schema, mapping,
environment and run for the integrity check and the reports.

The production source is refused before anything is written: SYNTH_SOURCE_URL and the
`source_db` resource (the database the sampler reads) when it is named (`production_sources`).
"""


import dagster as dg

from synth_pipeline.defs.loading.resources import PerfTarget, production_sources
from synth_pipeline.defs.resources import PostgresDatabase
from synth_pipeline.defs.settings import current_environment


class LoadConfig(dg.Config):
    schema_name: str = current_environment().load_schema  # synth_<SYNTH_ENV>; outside a provisioned database it must start with synth_
    mapping: str = "reference"  # reference | prisma | a mapping file
    ttl_days: float = 30.0
    jobs: int = 2


@dg.asset(
    ins={"shard_manifest": dg.AssetIn()},
    tags={"stage": "loading"},
    kinds={"postgres"},
    description="The shard set loaded by binary COPY into an isolated schema of the perf target (one transaction "
    "and ledger row per shard, resumable), then primary keys, foreign keys, chat indexes and ANALYZE. Metadata: "
    "rows per table, timings, run id, expiry.",
)
def loaded_schema(context: dg.AssetExecutionContext, config: LoadConfig, perf_target: PerfTarget,
                  source_db: PostgresDatabase, shard_manifest: str) -> dg.Output[dict]:
    from synth_pipeline.errors import SynthError
    from synth_pipeline.infra.shard_store import parent
    from synth_pipeline.loader.load import load_shards
    from synth_pipeline.loader.registry import dsn_without_password
    from synth_pipeline.infra.dsn import redact_dsn

    try:
        dsn = perf_target.dsn()
        sources = production_sources(source_db)  # load_shards refuses every one before anything is written
        if not sources:
            context.log.info("no production source named (SYNTH_SOURCE_URL unset): only the target rule applies")
        result = load_shards(parent(shard_manifest), dsn, config.schema_name, mapping=config.mapping,
                             ttl_days=config.ttl_days, jobs=config.jobs,
                             source_urls=sources,
                             progress=lambda name, rows, seconds: context.log.info(
                                 f"loaded {name}: {rows:,} rows in {seconds:.1f} s ({rows / max(seconds, 1e-9):,.0f} rows/s)"))
    except SynthError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    context.log.info(f"schema {result.schema}: run {result.run_id} {result.status}"
                     + (" (already complete)" if result.already_complete else ""))
    value = {
        "schema": result.schema, "mapping": config.mapping, "env": result.env, "run_id": result.run_id,
        "target": redact_dsn(dsn_without_password(dsn)), "rows": result.rows, "expires_at": result.expires_at,
        "run_file": str(result.run_file) if result.run_file else None,
    }
    return dg.Output(value, metadata={
        "schema": dg.MetadataValue.text(result.schema),
        "run_id": dg.MetadataValue.text(result.run_id),
        "rows": dg.MetadataValue.json(result.rows),
        "total_rows": dg.MetadataValue.int(sum(result.rows.values())),
        "copy_seconds": dg.MetadataValue.float(round(result.copy_s, 2)),
        "index_seconds": dg.MetadataValue.float(round(result.index_s, 2)),
        "expires_at": dg.MetadataValue.text(result.expires_at),
        "resumed_partitions": dg.MetadataValue.int(len(result.partitions_skipped)),
        "target": dg.MetadataValue.text(value["target"]),
    })

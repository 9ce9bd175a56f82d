"""Sensors that chain the pipeline's jobs. Each is idempotent (cursor or run keys) and testable
with `dg.build_sensor_context(instance=...)`.

- `landing_sensor`: every complete pack in the landing directory becomes a dynamic partition and a
  `pack_to_spec_job` run (keyed on pack id + sha256: a re-landed, changed pack runs again).
- `spec_ready_sensor`: a new `calibrated_spec` of the latest pack requests every shard partition.
- `shards_complete_sensor`: once every shard partition holds the same generation, newer than the
  last one loaded, requests `load_and_prove_job`.
"""


import json

import dagster as dg

from synth_pipeline.defs.generation.assets import shard_partitions
from synth_pipeline.defs.orchestration.jobs import generate_shards_job, load_and_prove_job, pack_to_spec_job
from synth_pipeline.defs.partitions import PACK_PARTITIONS_NAME, pack_partitions
from synth_pipeline.defs.resources import LandingDirectory
from synth_pipeline.defs.settings import automation_status

CALIBRATED_SPEC = dg.AssetKey("calibrated_spec")
SYNTHETIC_SHARDS = dg.AssetKey("synthetic_shards")
LANDING_INTERVAL_SECONDS = 60


@dg.sensor(job=pack_to_spec_job, minimum_interval_seconds=LANDING_INTERVAL_SECONDS,
           default_status=automation_status(),
           description="Registers each complete pack in the landing directory as a partition and runs it to a spec.")
def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingDirectory) -> dg.SensorResult | dg.SkipReason:
    from synth_pipeline.infra.landing import scan_landing

    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    scan = scan_landing(landing.root())
    for name in scan.ignored:
        context.log.warning(f"landing: ignoring {name}: a pack id is letters, digits, '.', '_' or '-' (at most 64)")
    new = [pack for pack in scan.complete if seen.get(pack.pack_id) != pack.sha256]
    if not new:
        waiting = f"; waiting for {len(scan.waiting)} incomplete pack(s)" if scan.waiting else ""
        return dg.SkipReason(f"no new complete pack in {landing.root()}{waiting}")
    known = set(context.instance.get_dynamic_partitions(PACK_PARTITIONS_NAME))
    to_add = sorted({pack.pack_id for pack in new} - known)
    for pack in new:
        seen[pack.pack_id] = pack.sha256
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=f"{pack.pack_id}:{pack.sha256[:16]}", partition_key=pack.pack_id,
                          tags={"synth/pack": pack.pack_id})
            for pack in new
        ],
        dynamic_partitions_requests=[pack_partitions.build_add_request(to_add)] if to_add else [],
        cursor=json.dumps(seen, sort_keys=True),
    )


@dg.asset_sensor(asset_key=CALIBRATED_SPEC, job=generate_shards_job, default_status=automation_status(),
                 description="A new spec of the latest pack requests every synthetic_shards partition.")
def spec_ready_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    partition = asset_event.dagster_event.partition if asset_event.dagster_event else None
    latest = context.instance.get_dynamic_partitions(PACK_PARTITIONS_NAME)
    if not latest or partition != latest[-1]:
        # Shards are generated from the latest pack's spec (LastPartitionMapping): a re-calibrated
        # older pack does not change them.
        return dg.SkipReason(f"spec of pack {partition} is not the latest pack's ({latest[-1] if latest else 'none'})")
    from synth_pipeline.defs.generation.assets import GenerationConfig
    from synth_pipeline.defs.settings import generation_overrides

    # Every partition of one shard set must get the same config: build it once per spec event.
    config = dg.RunConfig(ops={"synthetic_shards": GenerationConfig(**generation_overrides())})
    return [
        dg.RunRequest(run_key=f"{asset_event.run_id}:{shard}", partition_key=shard, run_config=config,
                      tags={"synth/pack": partition})
        for shard in shard_partitions.get_partition_keys()
    ]


def _latest_shard_records(instance: dg.DagsterInstance) -> dict[str, dg.EventLogRecord] | str:
    records = {}
    for shard in shard_partitions.get_partition_keys():
        found = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=SYNTHETIC_SHARDS, asset_partitions=[shard]), limit=1
        ).records
        if not found:
            return f"partition {shard} has not been generated yet"
        records[shard] = found[0]
    return records


def _generation(record: dg.EventLogRecord) -> str:
    metadata = record.asset_materialization.metadata if record.asset_materialization else {}
    entry = metadata.get("shard_dir")
    return str(entry.value) if entry is not None else ""


@dg.sensor(job=load_and_prove_job, minimum_interval_seconds=30, default_status=automation_status(),
           description="When every shard partition holds one new generation, loads it and runs the proofs.")
def shards_complete_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    records = _latest_shard_records(context.instance)
    if isinstance(records, str):
        return dg.SkipReason(records)
    generations = {_generation(record) for record in records.values()}
    if len(generations) != 1 or "" in generations:
        return dg.SkipReason("shard partitions belong to different generations; waiting for the rest")
    newest = max(record.storage_id for record in records.values())
    if context.cursor and int(context.cursor) >= newest:
        return dg.SkipReason("this generation has already been requested")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"load:{newest}", tags={"synth/generation": generations.pop()})],
        cursor=str(newest),
    )

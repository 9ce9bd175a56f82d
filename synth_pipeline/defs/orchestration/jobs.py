"""The pipeline as four jobs, one per partitioning of its assets (a Dagster run covers one
partitions definition, so the chain crosses from pack partitions to shard partitions to the
unpartitioned load in separate runs; the sensors in sensors.py start each when its inputs exist):

1. `pack_to_spec_job` (per pack partition): metrics_pack -> [blocking PII check] -> validated_pack
   -> calibrated_spec.
2. `generate_shards_job` (per shard partition): synthetic_shards, any partition, any machine.
3. `load_and_prove_job`: shard_manifest -> loaded_schema -> [blocking integrity check] ->
   fidelity_report [threshold check], query_baselines.
4. `quarterly_sample_job`: samples the production source into the landing directory (the landing
   sensor takes it from there, as for a pack that arrived from production by other means).
"""


from datetime import datetime, timezone

import dagster as dg

from synth_pipeline.defs.resources import LandingDirectory, PostgresDatabase
from synth_pipeline.errors import SynthError

PACK_TO_SPEC = dg.AssetSelection.assets("metrics_pack", "validated_pack", "calibrated_spec")
LOAD_AND_PROVE = dg.AssetSelection.assets("shard_manifest", "loaded_schema", "fidelity_report", "query_baselines")

pack_to_spec_job = dg.define_asset_job(
    "pack_to_spec_job",
    selection=PACK_TO_SPEC,
    description="One metrics pack through the privacy gate into a calibrated distribution spec.",
)

generate_shards_job = dg.define_asset_job(
    "generate_shards_job",
    selection=dg.AssetSelection.assets("synthetic_shards"),
    description="One partition of the synthetic shard set (users or a shard) from the latest calibrated spec.",
)

load_and_prove_job = dg.define_asset_job(
    "load_and_prove_job",
    selection=LOAD_AND_PROVE,
    description="Manifest, load into the perf target with the blocking integrity check, then fidelity and query "
    "baselines.",
)


def quarter_pack_id(moment: datetime) -> str:
    """`2026q4`: the pack id of a quarterly refresh (the partition key)."""
    return f"{moment.year}q{(moment.month - 1) // 3 + 1}"


class QuarterlySampleConfig(dg.Config):
    pack_id: str = ""  # empty: the quarter of the run's start, e.g. 2026q4
    window_days: int = 30
    mapping: str = "reference"
    source_schema: str = "public"
    min_cell_size: int = 10


@dg.op(description="Sample the production source read-only into the landing directory as <pack id>.json.")
def sample_production_into_landing(context: dg.OpExecutionContext, config: QuarterlySampleConfig,
                                   source_db: PostgresDatabase, landing: LandingDirectory) -> str:
    from synth_pipeline.infra.landing import check_pack_id
    from synth_pipeline.sampler.landing import sample_to_landing

    pack_id = config.pack_id or quarter_pack_id(datetime.now(timezone.utc))
    try:
        check_pack_id(pack_id)
        _, pack_path = sample_to_landing(source_db.dsn(), landing.pack_path(pack_id), mapping=config.mapping,
                                         schema=config.source_schema, window_days=config.window_days,
                                         min_cell_size=config.min_cell_size)
    except SynthError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    context.log.info(f"landed pack {pack_id} at {pack_path}; the landing sensor registers it")
    return str(pack_path)


@dg.job(description="Quarterly refresh: sample the production source into the landing directory.")
def quarterly_sample_job() -> None:
    sample_production_into_landing()

"""`metrics_pack`: one metrics pack per dynamic partition (the pack id).

A thin shell over `synth_pipeline.sampler.landing`: when the landing directory already holds
`<pack id>.json` (a pack that arrived from production) it is ingested as is - the privacy stage's
blocking check on this asset judges it, and until then only its path, sha256, size and pack id
are published (nothing read from inside it reaches the event log); otherwise the sampler runs against the `source_db`
resource and writes the pack into the landing directory. Either way the pack (and its
`_mapping.json`) is copied to storage `packs/<pack id>.json`, whose path is the asset's value.
The sampler needs ANONYMIZATION_SALT in the environment of the run.
"""

import time

import dagster as dg

from synth_pipeline.defs.partitions import pack_partitions
from synth_pipeline.defs.resources import LandingDirectory, PipelineStorage, PostgresDatabase
from synth_pipeline.errors import SynthError


class SamplerConfig(dg.Config):
    """Sampler options used when the pack is sampled (ignored for a landed pack)."""

    window_days: int = 30
    mapping: str = "reference"
    source_schema: str = "public"
    min_cell_size: int = 10
    epsilon: float | None = None
    contribution_bound: int = 10


@dg.asset(
    partitions_def=pack_partitions,
    tags={"stage": "sampling"},
    kinds={"postgres", "json"},
    description="Metrics pack (aggregates only) of one partition: a pack landed from production, ingested as is, "
    "or sampled read-only from the source database. Value: the pack's path in storage.",
)
def metrics_pack(context: dg.AssetExecutionContext, config: SamplerConfig, source_db: PostgresDatabase,
                 landing: LandingDirectory, storage: PipelineStorage) -> dg.Output[str]:
    from synth_pipeline.infra.landing import check_pack_id
    from synth_pipeline.sampler.landing import ingest_pack, sample_into

    pack_id = context.partition_key
    started = time.perf_counter()
    try:
        landed = landing.pack_path(check_pack_id(pack_id))  # partitions added by hand are not checked by Dagster
        dest = storage.path("packs", f"{pack_id}.json")
        if landed.exists():
            files = ingest_pack(landed, dest)
        else:
            files = sample_into(
                source_db.dsn(), landed, dest, mapping=config.mapping, schema=config.source_schema,
                window_days=config.window_days, min_cell_size=config.min_cell_size, epsilon=config.epsilon,
                contribution_bound=config.contribution_bound,
            )
    except SynthError as exc:  # bad input: one line in the UI, not a traceback
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    context.log.info(f"{'sampled' if files.sampled else 'ingested landed'} pack {pack_id} -> {files.pack_path}")
    metadata = _sampled_metadata(files) if files.sampled else _landed_metadata(pack_id, files)
    metadata["duration_s"] = dg.MetadataValue.float(round(time.perf_counter() - started, 3))
    return dg.Output(str(files.pack_path), metadata=metadata)


def _file_metadata(files) -> dict:
    # Not "path": the IO manager adds its own "path" (where it stored the value).
    return {
        "pack_path": dg.MetadataValue.path(str(files.pack_path)),
        "sha256": files.sha256,
        "size_bytes": files.size_bytes,
    }


def _landed_metadata(pack_id: str, files) -> dict:
    """A landed pack has not passed the PII gate yet: facts about the file only, nothing from inside it."""
    return {**_file_metadata(files), "pack_id": pack_id, "source": "landed"}


def _sampled_metadata(files) -> dict:
    """A pack this sampler made from aggregates and validated against the pack schema before writing."""
    return {
        **_file_metadata(files),
        "manifest_path": dg.MetadataValue.path(str(files.manifest_path)),
        "source": "sampled",
        "totals": dg.MetadataValue.json(files.totals),
        "statements": files.statements,
    }

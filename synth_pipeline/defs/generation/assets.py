"""`synthetic_shards` (one static partition per shard, plus `users`) and `shard_manifest`.

Design (docs/generator.md, "Dagster"):
- `synthetic_shards` is statically partitioned: `users`, `shard-00000` .. `shard-{K-1}`, with K
  read at definition time from SYNTH_GENERATION_SHARDS, else from SYNTH_ENV (dev 5, staging 100,
  perf 300: ~1M messages per shard). Any partition can be (re)built alone, in any order,
  on any machine: it calls `generate_partition`, whose bytes depend only on the plan.
- The spec comes from the pack partitions upstream. Crossing a dynamic pack dimension with static
  shards (a MultiPartitionsDefinition) would make every downstream asset, the loader included,
  two-dimensional and multiply the partitions by the packs; instead the input `calibrated_spec`
  uses `LastPartitionMapping`: shards are generated from the spec (its value is the spec's path)
  of the most recently added pack, which must have been calibrated. Run config `spec_path`
  overrides it; with no pack registered at all the shipped reference spec
  (specs/distribution-spec.json) is used, as by the CLI.
- Partitions of one generation must agree on spec, seed, sizes and K, so each writes into a
  directory named after them (`generation_id`): a partition built from another spec or seed can
  never mix into a shard set. Its value says where it went and with which parameters.
- `shard_manifest` (unpartitioned) reads every partition's value, checks that they belong to one
  generation and writes DIR/manifest.json (`write_manifest` refuses when a partition is missing);
  its value is the manifest's path, which the loader consumes.
"""


import os
import time

import dagster as dg

from synth_pipeline.defs.resources import PipelineStorage
from synth_pipeline.defs.settings import current_environment

SHARDS_ENV = "SYNTH_GENERATION_SHARDS"
ENVIRONMENT = current_environment()


def shard_count_from_env() -> int:
    raw = os.environ.get(SHARDS_ENV, "").strip()
    if not raw:
        return ENVIRONMENT.default_shards
    if not raw.isdigit() or not 1 <= int(raw) <= 99_999:
        raise ValueError(f"{SHARDS_ENV}={raw!r}: give the number of shards, an integer between 1 and 99999")
    return int(raw)


N_SHARDS = shard_count_from_env()


def partition_keys(n_shards: int) -> list[str]:
    """`users`, `shard-00000` .. `shard-{K-1}` (generator.shard_name, without importing numpy here)."""
    return ["users", *(f"shard-{k:05d}" for k in range(n_shards))]


def manifest_metadata(path) -> dict:  # path: Path | str, a manifest.json in a shard store
    """Output metadata describing a written shard manifest."""
    from synth_pipeline.contracts.shard_manifest import ShardManifest
    from synth_pipeline.infra.shard_store import display, read_bytes

    manifest = ShardManifest.model_validate_json(read_bytes(path))
    return {
        "path": dg.MetadataValue.path(display(path)),
        "table_rows": dg.MetadataValue.json(manifest.table_rows),
        "partitions": dg.MetadataValue.int(len(manifest.partitions)),
        "spec_sha256": dg.MetadataValue.text(manifest.spec_sha256),
        "seed": dg.MetadataValue.int(manifest.seed),
        "band": dg.MetadataValue.text(manifest.band),
        "n_shards": dg.MetadataValue.int(manifest.n_shards),
        "absent_tables": dg.MetadataValue.json(manifest.absent_tables),
    }


shard_partitions = dg.StaticPartitionsDefinition(partition_keys(N_SHARDS))


class GenerationConfig(dg.Config):
    """Which generation to build; every partition of one shard set must get the same config."""

    spec_path: str = ""  # empty: the calibrated spec of the most recent pack
    seed: int = 0
    band: str = ENVIRONMENT.band  # dev | staging | perf (default: SYNTH_ENV's); ignored when messages > 0
    messages: int = 0  # > 0: custom size (users/conversations 0 = derived from the spec's ratios)
    users: int = 0
    conversations: int = 0


def _plan(spec_path: str, config: GenerationConfig):  # -> GenerationPlan (imported lazily)
    from synth_pipeline.generator import plan_for

    return plan_for(spec_path, config.band, config.seed, N_SHARDS,
                    messages=config.messages, users=config.users, conversations=config.conversations)


@dg.asset(
    partitions_def=shard_partitions,
    ins={"calibrated_spec": dg.AssetIn(partition_mapping=dg.LastPartitionMapping())},
    tags={"stage": "generation"},
    kinds={"python", "parquet"},
    description="One partition of the synthetic shard set: users, or one shard (a disjoint slice of conversations "
    "with their participants, messages, attachments and reads) as zstd Parquet, validated (every row vectorised, "
    "pandera on a sample). Value: where it was written and the generation parameters.",
)
def synthetic_shards(
    context: dg.AssetExecutionContext, config: GenerationConfig, storage: PipelineStorage,
    calibrated_spec: str | None,
) -> dg.Output[dict]:
    from synth_pipeline.generator import generate_partition, generation_id
    from synth_pipeline.infra.shard_store import display
    from synth_pipeline.paths import REFERENCE_SPEC

    if config.spec_path:
        spec_path, source = config.spec_path, "run config spec_path"
    elif calibrated_spec is None:  # no pack partition registered yet
        spec_path, source = str(REFERENCE_SPEC), "reference spec (no pack calibrated yet)"
    else:
        spec_path, source = calibrated_spec, f"calibrated_spec[{context.asset_partition_key_for_input('calibrated_spec')}]"
    started = time.perf_counter()
    plan = _plan(spec_path, config)
    shard_dir = storage.shards_location(generation_id(plan))  # a Path, or a URI (storage.shard_store / SYNTH_SHARD_STORE)
    files = generate_partition(plan, context.partition_key, shard_dir)
    seconds = time.perf_counter() - started
    rows = sum(f.rows for f in files)
    context.log.info(f"{context.partition_key}: {rows:,} rows in {seconds:.1f} s ({rows / max(seconds, 1e-9):,.0f} rows/s) "
                     f"into {display(shard_dir)} from {source}")
    value = {
        "shard_dir": str(shard_dir), "spec_path": spec_path, "config": config.model_dump(),
        "generation": plan.generation_key(), "partition": context.partition_key,
    }
    return dg.Output(value, metadata={
        "shard_dir": dg.MetadataValue.path(display(shard_dir)),
        "spec_source": dg.MetadataValue.text(source),
        "spec_sha256": dg.MetadataValue.text(plan.spec_sha256),
        "seed": dg.MetadataValue.int(plan.seed),
        "band": dg.MetadataValue.text(plan.band),
        "rows": dg.MetadataValue.json({f.table: f.rows for f in files}),
        "bytes": dg.MetadataValue.int(sum(f.bytes for f in files)),
        "duration_s": dg.MetadataValue.float(round(seconds, 3)),
        "rows_per_s": dg.MetadataValue.int(int(rows / max(seconds, 1e-9))),
        "id_ranges": dg.MetadataValue.json({t: [r.first, r.last] for t, r in plan.id_ranges(context.partition_key).items()}),
    })


@dg.asset(
    ins={"synthetic_shards": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())},
    tags={"stage": "generation"},
    kinds={"python", "json"},
    description="DIR/manifest.json of the shard set, written once every synthetic_shards partition exists "
    "(row counts and sha256 per file, id ranges, spec hash, seed, band). Value: the manifest's path.",
)
def shard_manifest(context: dg.AssetExecutionContext, synthetic_shards: dict[str, dict]) -> dg.Output[str]:
    from synth_pipeline.errors import SynthError
    from synth_pipeline.generator import write_manifest
    from synth_pipeline.infra.shard_store import display

    started = time.perf_counter()
    generations = {(v["shard_dir"], v["spec_path"], repr(sorted(v["generation"].items()))) for v in synthetic_shards.values()}
    if len(generations) != 1:
        raise SynthError(
            "synthetic_shards partitions come from different generations (spec, seed, sizes or shard count); "
            "rematerialize all partitions with one config"
        )
    value = next(iter(synthetic_shards.values()))
    plan = _plan(value["spec_path"], GenerationConfig(**value["config"]))
    if plan.generation_key() != value["generation"]:
        raise SynthError(f"spec {value['spec_path']} changed since the shards were generated; rematerialize synthetic_shards")
    path = write_manifest(plan, value["shard_dir"])
    context.log.info(f"wrote {display(path)}")
    return dg.Output(str(path), metadata={
        **manifest_metadata(path),
        "duration_s": dg.MetadataValue.float(round(time.perf_counter() - started, 3)),
    })

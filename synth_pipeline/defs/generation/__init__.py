"""Dagster definitions of the generation stage: `synthetic_shards` (static partitions: users and
one per shard; SYNTH_ENV / SYNTH_GENERATION_SHARDS set the shard count) and `shard_manifest`.
A thin shell over synth_pipeline.generator; see assets.py for the partitioning design."""

import dagster as dg

from synth_pipeline.defs.generation.assets import shard_manifest, synthetic_shards

defs = dg.Definitions(assets=[synthetic_shards, shard_manifest])

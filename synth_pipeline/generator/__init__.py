"""Generator: deterministic, sharded synthetic data from a distribution spec (docs/generator.md).

The core API (no Dagster here):

    plan = plan_generation(spec, "dev" | Sizes(...), seed, n_shards=None)   # pure, cheap
    files = generate_partition(plan, "users" | "shard-00003", out_dir)        # one partition
    write_manifest(plan, out_dir)                                          # once all exist
    result = generate(spec, out_dir, seed=7, band="dev")                   # all of it, streaming
"""

from synth_pipeline.generator.bands import BANDS, MESSAGES_PER_SHARD, default_shard_count, resolve_sizes
from synth_pipeline.generator.plan import GenerationPlan, load_spec, plan_for, plan_generation, shard_name
from synth_pipeline.generator.run import (
    GenerationResult,
    generate,
    generate_partition,
    generate_plan,
    generation_id,
    write_manifest,
)

__all__ = [
    "BANDS", "MESSAGES_PER_SHARD", "GenerationPlan", "GenerationResult", "default_shard_count", "generate",
    "generate_partition", "generate_plan", "generation_id", "load_spec", "plan_for", "plan_generation", "resolve_sizes",
    "shard_name", "write_manifest",
]

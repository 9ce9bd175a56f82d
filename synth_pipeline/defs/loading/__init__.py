"""Dagster definitions of the loading stage: `loaded_schema` (after the generator's
`shard_manifest`) with its blocking `integrity` check, and the `perf_target` resource.
A thin shell over synth_pipeline.loader."""

import dagster as dg

from synth_pipeline.defs.loading.assets import loaded_schema
from synth_pipeline.defs.loading.checks import loaded_schema_integrity
from synth_pipeline.defs.loading.resources import PerfTarget

defs = dg.Definitions(
    assets=[loaded_schema],
    asset_checks=[loaded_schema_integrity],
    resources={"perf_target": PerfTarget()},
)

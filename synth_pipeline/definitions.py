"""The Dagster code location: every stage's definitions merged, plus shared resources."""

import dagster as dg

from synth_pipeline.defs import calibration, generation, lifecycle, loading, privacy, reports, sampling
from synth_pipeline.defs.resources import default_resources

defs = dg.Definitions.merge(
    sampling.defs,
    privacy.defs,
    calibration.defs,
    generation.defs,
    loading.defs,
    reports.defs,
    lifecycle.defs,
    dg.Definitions(resources=default_resources()),
)

"""Dagster definitions of the sampling stage: the `metrics_pack` asset (one dynamic partition per
pack), a thin shell over synth_pipeline.sampler."""

import dagster as dg

from synth_pipeline.defs.sampling.assets import metrics_pack

defs = dg.Definitions(assets=[metrics_pack])

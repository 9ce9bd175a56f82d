"""Dagster definitions of the reports stage: `fidelity_report` (with its threshold check) and
`query_baselines`, both after `loaded_schema` (thin shells over synth_pipeline.reports),
measuring the loading stage's `perf_target`."""

import dagster as dg

from synth_pipeline.defs.reports.assets import fidelity_report, query_baselines

defs = dg.Definitions(assets=[fidelity_report, query_baselines])

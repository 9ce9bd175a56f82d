"""Dagster definitions of the scale-out proof: `scale_out_job` (the code location's executor) and
`scale_out_dask_job` (dagster-dask): one step per partition -> manifest -> load.
See jobs.py and docs/scale-out.md."""

import dagster as dg

from synth_pipeline.defs.scaleout.jobs import scale_out_dask_job, scale_out_job

defs = dg.Definitions(jobs=[scale_out_job, scale_out_dask_job])

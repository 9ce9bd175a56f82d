"""Dagster definitions that drive the whole pipeline: jobs per step, the quarterly schedule, and
the sensors that chain the steps (landing -> spec -> shards -> load and proofs)."""

import dagster as dg

from synth_pipeline.defs.orchestration.jobs import (
    generate_shards_job,
    load_and_prove_job,
    pack_to_spec_job,
    quarterly_sample_job,
)
from synth_pipeline.defs.orchestration.schedules import quarterly_refresh_schedule
from synth_pipeline.defs.orchestration.sensors import landing_sensor, shards_complete_sensor, spec_ready_sensor

defs = dg.Definitions(
    jobs=[pack_to_spec_job, generate_shards_job, load_and_prove_job, quarterly_sample_job],
    schedules=[quarterly_refresh_schedule],
    sensors=[landing_sensor, spec_ready_sensor, shards_complete_sensor],
)

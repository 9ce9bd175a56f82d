"""Dagster definitions of the lifecycle stage: `teardown_job` (typed confirmation in run config),
`ttl_teardown_job` and the `ttl_sensor` that runs it for every expired load, and the `admin_db`
resource (SYNTH_ADMIN_URL). A thin shell over synth_pipeline.loader.teardown and ttl."""

import dagster as dg

from synth_pipeline.defs.lifecycle.jobs import teardown_job, ttl_teardown_job
from synth_pipeline.defs.lifecycle.sensors import ttl_sensor
from synth_pipeline.defs.resources import PostgresDatabase

defs = dg.Definitions(
    jobs=[teardown_job, ttl_teardown_job],
    sensors=[ttl_sensor],
    resources={"admin_db": PostgresDatabase(url_env="SYNTH_ADMIN_URL")},
)

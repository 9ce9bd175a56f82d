"""The quarterly refresh (DESIGN.md section 3): 03:00 UTC on the first day of each quarter."""

import dagster as dg

from synth_pipeline.defs.settings import schedule_status
from synth_pipeline.defs.orchestration.jobs import QuarterlySampleConfig, quarter_pack_id, quarterly_sample_job
from synth_pipeline.defs.resources import PostgresDatabase

QUARTERLY_CRON = "0 3 1 1,4,7,10 *"


@dg.schedule(
    job=quarterly_sample_job,
    cron_schedule=QUARTERLY_CRON,
    execution_timezone="UTC",
    default_status=schedule_status(),
    description="Samples the production source every quarter; the landing sensor then regenerates everything.",
)
def quarterly_refresh_schedule(context: dg.ScheduleEvaluationContext,
                               source_db: PostgresDatabase) -> dg.RunRequest | dg.SkipReason:
    from synth_pipeline.defs.loading.resources import production_sources

    if not production_sources(source_db):
        # The fallbacks of `source_db` (SYNTH_DATABASE_URL, the embedded server) suit a demo run by
        # hand, never an unattended production refresh: sample only a source named explicitly
        # (SYNTH_SOURCE_URL, or the source_db resource's own variable or database).
        return dg.SkipReason(f"{source_db.url_env} is not set: the quarterly refresh samples only an explicitly "
                             "named production source (set it, and ANONYMIZATION_SALT, in the code location)")
    pack_id = quarter_pack_id(context.scheduled_execution_time)
    return dg.RunRequest(
        run_key=pack_id,
        run_config=dg.RunConfig(ops={"sample_production_into_landing": QuarterlySampleConfig(pack_id=pack_id)}),
        tags={"synth/pack": pack_id},
    )

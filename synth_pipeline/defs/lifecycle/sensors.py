"""`ttl_sensor`: requests a `ttl_teardown_job` run for every load past its `expires_at`.

It looks where `synth-pipeline ttl-check` looks (provisioned environments and the local load
registry, synth_meta as the authority) and keys each request on the load's run id, so a load is
torn down once however often the sensor ticks. Running by default: expiry is automatic.
"""


import dagster as dg

from synth_pipeline.defs.lifecycle.jobs import ExpiredLoadConfig, ttl_teardown_job

TTL_INTERVAL_SECONDS = 15 * 60


@dg.sensor(job=ttl_teardown_job, minimum_interval_seconds=TTL_INTERVAL_SECONDS,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Tears down loads past expires_at (--ttl-days of their load), one run per expired load.")
def ttl_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    from synth_pipeline.loader.registry import dsn_without_password
    from synth_pipeline.loader.ttl import find_expired

    report = find_expired()
    for message in report.unreachable:
        context.log.warning(f"not checked: {message}")
    for line in report.pruned:
        context.log.info(f"pruned from the load registry: {line}")
    if not report.expired:
        unreachable = f"; {len(report.unreachable)} unreachable" if report.unreachable else ""
        return dg.SkipReason(f"no expired load in {report.checked_targets} database(s){unreachable}")
    requests = [
        dg.RunRequest(
            run_key=f"ttl-{load.run_id}-{load.schema}",
            run_config=dg.RunConfig(ops={"drop_expired_load": ExpiredLoadConfig(
                schema_name=load.schema, env=load.env or "", run_id=load.run_id,
                target="" if load.env else dsn_without_password(load.dsn),
            )}),
            tags={"synth/schema": load.schema, "synth/run_id": load.run_id},
        )
        for load in report.expired
    ]
    return dg.SensorResult(run_requests=requests)

"""The blocking integrity check on `loaded_schema`: nothing downstream (fidelity, baselines) runs
on a schema whose counts, keys, reads or identities are broken. Metadata: counts only."""


import dagster as dg

from synth_pipeline.defs.loading.resources import PerfTarget

CHECK_NAME = "integrity"


@dg.asset_check(
    asset="loaded_schema",
    name=CHECK_NAME,
    blocking=True,
    description="Row counts equal the shard manifest, every foreign key resolves (also without constraints), no "
    "orphan participants or reads, reads after their messages, real_email_count = 0. Blocking.",
)
def loaded_schema_integrity(perf_target: PerfTarget, loaded_schema: dict) -> dg.AssetCheckResult:
    from synth_pipeline.errors import SynthError
    from synth_pipeline.loader.verify import verify_schema

    try:
        report = verify_schema(perf_target.dsn(), loaded_schema["schema"], mapping=loaded_schema.get("mapping"))
    except SynthError as exc:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR, description=str(exc))
    failures = [c.name for c in report.failures]
    return dg.AssetCheckResult(
        passed=report.ok,
        severity=dg.AssetCheckSeverity.ERROR,
        description="integrity holds" if report.ok else f"integrity broken: {', '.join(failures)}",
        metadata={"checks": dg.MetadataValue.json(report.as_dict()), "failed": dg.MetadataValue.json(failures)},
    )

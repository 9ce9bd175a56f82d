"""`validated_pack`: the second gate. It judges the pack again (a check can be skipped or run
alone; this asset cannot be bypassed) and copies the judged bytes to the artifact store, so that
calibration reads exactly what was validated: metrics_pack -> validated_pack -> calibrated_spec."""

import time

import dagster as dg

from synth_pipeline.defs.partitions import pack_partitions
from synth_pipeline.defs.privacy.checks import PACK_ASSET
from synth_pipeline.defs.resources import PipelineStorage
from synth_pipeline.privacy.findings import findings_summary
from synth_pipeline.privacy.gate import promote_validated_pack


@dg.asset(
    partitions_def=pack_partitions,
    ins={"metrics_pack": dg.AssetIn(PACK_ASSET)},
    tags={"stage": "privacy"},
    kinds={"json"},
    description="The metrics pack after the privacy gate: a byte-identical copy (with its mapping manifest) of a "
    "pack that passed; its value is the path of the validated pack JSON.",
)
def validated_pack(context: dg.AssetExecutionContext, metrics_pack: str, storage: PipelineStorage) -> dg.Output[str]:
    started = time.perf_counter()
    dest = storage.path("validated", f"{context.partition_key}.json")
    outcome = promote_validated_pack(metrics_pack, dest)
    if not outcome.passed:
        summary = findings_summary(outcome.findings)
        raise dg.Failure(
            description=f"privacy gate refused the pack: {summary['finding_count']} finding(s); "
            "run `synth-pipeline validate-pii` on it for the paths",
            metadata={
                "findings_by_detector": dg.MetadataValue.json(summary["findings_by_detector"]),
                "finding_locations": dg.MetadataValue.json(summary["finding_locations"]),
            },
        )
    return dg.Output(
        str(outcome.pack_path),
        metadata={
            # Not "path": the IO manager adds its own "path" (where it stored the value).
            "pack_path": dg.MetadataValue.path(str(outcome.pack_path)),
            "manifest_path": dg.MetadataValue.path(str(outcome.manifest_path)),
            "pack_sha256": outcome.pack_sha256,
            "bytes": len(outcome.pack_bytes),
            # Safe to publish now that the gate passed: entity counts of the pack (no values).
            "totals": dg.MetadataValue.json(outcome.pack_document.get("totals", {})),
            "duration_s": dg.MetadataValue.float(round(time.perf_counter() - started, 3)),
        },
    )

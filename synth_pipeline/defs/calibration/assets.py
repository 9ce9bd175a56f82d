"""`calibrated_spec`: the validated pack of one partition, fitted into a distribution spec.

A thin shell over `synth_pipeline.calibration.calibrate`: read the pack whose path the upstream
`validated_pack` asset returns (the privacy gate's blocking check stops the run before this
asset when the pack carries personal data), fit, write the spec into the pipeline storage
(`specs/<partition>.json`) and return its path. The previous materialization's spec (the most
recent, of any partition) plays the CLI's `--previous`: spec_version + 1 and an old -> new diff.
"""

import time
from pathlib import Path

import dagster as dg

from synth_pipeline.defs.partitions import pack_partitions
from synth_pipeline.defs.resources import PipelineStorage
from synth_pipeline.errors import SynthError

CALIBRATED_SPEC = dg.AssetKey("calibrated_spec")


def _previous_spec_path(context: dg.AssetExecutionContext) -> Path | None:
    event = context.instance.get_latest_materialization_event(CALIBRATED_SPEC)
    materialization = event.asset_materialization if event is not None else None
    entry = materialization.metadata.get("spec_path") if materialization is not None else None
    path = Path(str(entry.value)) if entry is not None else None
    return path if path is not None and path.is_file() else None


@dg.asset(
    partitions_def=pack_partitions,
    ins={"validated_pack": dg.AssetIn()},
    tags={"stage": "calibration"},
    kinds={"python", "scipy"},
    description="Distribution spec fitted to the validated metrics pack (binned maximum likelihood, AIC among "
    "families, empirical quantile function outside tolerance). Value: the spec's path.",
)
def calibrated_spec(context: dg.AssetExecutionContext, storage: PipelineStorage, validated_pack: str) -> dg.Output[str]:
    from synth_pipeline.calibration.calibrate import calibrate_file
    from synth_pipeline.calibration.report import diff, format_report, parameters, poor_parameters

    started = time.perf_counter()
    previous_path = _previous_spec_path(context)
    out = storage.path("specs", f"{context.partition_key}.json")
    try:
        result, previous, sha256 = calibrate_file(validated_pack, out, previous_path=previous_path)
    except SynthError as exc:  # bad input: one line in the UI, not a traceback
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    spec = result.spec
    context.log.info(format_report(spec, result.notes, previous))
    fits = {
        name: {"family": getattr(value, "family", "categorical"),
               **value.gof.model_dump(include={"statistic", "value", "tolerance", "poor"})}
        for name, value in parameters(spec)
        if getattr(value, "gof", None) is not None
    }
    changes = diff(previous, spec) if previous is not None else []
    poor = poor_parameters(spec)
    return dg.Output(
        str(out),
        metadata={
            # Not "path": the IO manager adds its own "path" (where it pickled the value).
            "spec_path": dg.MetadataValue.path(str(out)),
            "spec_sha256": dg.MetadataValue.text(sha256),
            "spec_version": dg.MetadataValue.int(spec.spec_version),
            "duration_s": dg.MetadataValue.float(round(time.perf_counter() - started, 3)),
            "families": dg.MetadataValue.json({name: fit["family"] for name, fit in fits.items()}),
            "gof": dg.MetadataValue.json(fits),
            "poor_fit_count": dg.MetadataValue.int(len(poor)),
            "poor_fits": dg.MetadataValue.json(poor),
            "previous_spec": dg.MetadataValue.text(str(previous_path) if previous_path else "none"),
            "diff_vs_previous": dg.MetadataValue.md(
                "\n".join(f"- `{line}`" for line in changes) if changes
                else ("no change" if previous is not None else "no previous spec")
            ),
        },
    )

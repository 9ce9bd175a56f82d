"""Dagster definitions of the reports stage: `fidelity_report` (with its threshold check) and
`query_baselines`, both after `loaded_schema` (thin shells over synth_pipeline.reports), measuring
the loading stage's `perf_target`.

An asset input from an asset the code location does not define makes the location fail to load,
so both are registered once the loading stage defines `loaded_schema` and the calibration stage
`calibrated_spec` (which itself waits for `validated_pack`).
"""

import dagster as dg

from synth_pipeline.defs import calibration, loading
from synth_pipeline.defs.reports.assets import fidelity_report, query_baselines

ASSETS = [fidelity_report, query_baselines]


def _defines(defs: dg.Definitions, key: str) -> bool:
    asset_key = dg.AssetKey(key)
    return any(asset_key in getattr(asset, "keys", {getattr(asset, "key", None)}) for asset in defs.assets or [])


defs = (
    dg.Definitions(assets=ASSETS)  # the perf_target resource comes with the loading stage
    if _defines(loading.defs, "loaded_schema") and _defines(calibration.defs, "calibrated_spec")
    else dg.Definitions()
)

"""Dagster definitions of the privacy stage: the blocking PII check on `metrics_pack` and the
`validated_pack` asset (a thin shell over synth_pipeline.privacy).

A check on an asset the code location does not define (or an input from one) makes the location
fail to load, so both are registered as soon as the sampling stage defines `metrics_pack`.
"""

import dagster as dg

from synth_pipeline.defs import sampling
from synth_pipeline.defs.privacy.assets import validated_pack
from synth_pipeline.defs.privacy.checks import PACK_ASSET, metrics_pack_no_personal_data

ASSETS = [validated_pack]
ASSET_CHECKS = [metrics_pack_no_personal_data]


def _defines(defs: dg.Definitions, key: dg.AssetKey) -> bool:
    return any(key in getattr(asset, "keys", {getattr(asset, "key", None)}) for asset in defs.assets or [])


defs = (
    dg.Definitions(assets=ASSETS, asset_checks=ASSET_CHECKS)
    if _defines(sampling.defs, dg.AssetKey(PACK_ASSET))
    else dg.Definitions()
)

"""Dagster definitions of the calibration stage: `calibrated_spec` (a thin shell over
synth_pipeline.calibration).

An asset input from an asset the code location does not define makes the location fail to load,
so `calibrated_spec` is registered as soon as the privacy stage registers `validated_pack`.
"""

import dagster as dg

from synth_pipeline.defs import privacy
from synth_pipeline.defs.calibration.assets import calibrated_spec

ASSETS = [calibrated_spec]
UPSTREAM = dg.AssetKey("validated_pack")


def _defines(defs: dg.Definitions, key: dg.AssetKey) -> bool:
    return any(key in getattr(asset, "keys", {getattr(asset, "key", None)}) for asset in defs.assets or [])


defs = dg.Definitions(assets=ASSETS) if _defines(privacy.defs, UPSTREAM) else dg.Definitions()

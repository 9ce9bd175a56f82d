"""Dagster definitions of the privacy stage: the blocking PII check on `metrics_pack` and the
`validated_pack` asset (a thin shell over synth_pipeline.privacy)."""

import dagster as dg

from synth_pipeline.defs.privacy.assets import validated_pack
from synth_pipeline.defs.privacy.checks import metrics_pack_no_personal_data

ASSETS = [validated_pack]
ASSET_CHECKS = [metrics_pack_no_personal_data]

# Registered once the sampling stage defines `metrics_pack` (a check on an asset the code location
# does not define, or an input from it, makes the location fail to load).
defs = dg.Definitions()

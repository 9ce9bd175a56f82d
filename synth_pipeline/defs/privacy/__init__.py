"""Dagster definitions of the privacy stage: the blocking PII check on `metrics_pack` (defined by
the sampling stage) and the `validated_pack` asset (a thin shell over synth_pipeline.privacy)."""

import dagster as dg

from synth_pipeline.defs.privacy.assets import validated_pack
from synth_pipeline.defs.privacy.checks import metrics_pack_no_personal_data

ASSETS = [validated_pack]
ASSET_CHECKS = [metrics_pack_no_personal_data]

defs = dg.Definitions(assets=ASSETS, asset_checks=ASSET_CHECKS)

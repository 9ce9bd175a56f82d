"""Dagster definitions of the calibration stage: `calibrated_spec` (a thin shell over
synth_pipeline.calibration)."""

import dagster as dg

from synth_pipeline.defs.calibration.assets import calibrated_spec

defs = dg.Definitions(assets=[calibrated_spec])

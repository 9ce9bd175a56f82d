"""Dagster definitions of the calibration stage."""

import dagster as dg

defs = dg.Definitions()

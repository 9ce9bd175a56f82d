"""Dagster definitions of the sampling stage."""

import dagster as dg

defs = dg.Definitions()

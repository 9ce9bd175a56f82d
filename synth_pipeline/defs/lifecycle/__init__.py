"""Dagster definitions of the lifecycle stage."""

import dagster as dg

defs = dg.Definitions()

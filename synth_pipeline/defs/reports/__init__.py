"""Dagster definitions of the reports stage."""

import dagster as dg

defs = dg.Definitions()

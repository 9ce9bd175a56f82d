"""Dagster definitions of the loading stage."""

import dagster as dg

defs = dg.Definitions()

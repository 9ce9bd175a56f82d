"""Dagster definitions of the privacy stage."""

import dagster as dg

defs = dg.Definitions()

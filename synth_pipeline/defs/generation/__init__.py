"""Dagster definitions of the generation stage."""

import dagster as dg

defs = dg.Definitions()

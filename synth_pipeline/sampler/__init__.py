"""Sampler: aggregate a read-only production database into a metrics pack."""

"""Dagster definitions: a thin shell over the core stage packages.

One sub-package per stage (`sampling`, `privacy`, `calibration`, `generation`, `loading`,
`reports`, `lifecycle`), each with `assets.py`, `checks.py`, `sensors.py`, `schedules.py` as it
needs them and a `defs` object in its `__init__.py`; shared resources in `resources.py`;
`synth_pipeline/definitions.py` merges them.
"""

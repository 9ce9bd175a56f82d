"""The Dagster code location: every stage's definitions merged, plus shared resources and the
orchestration (jobs, schedule, sensors). Every asset is owned by the database-performance team
and belongs to one group, `synth_pipeline`.

Only `defs` may be a Definitions object at module scope (Dagster's loader refuses two).
"""

import warnings

import dagster as dg

from synth_pipeline.defs import (
    calibration,
    generation,
    lifecycle,
    loading,
    orchestration,
    privacy,
    reports,
    sampling,
    scaleout,
)
from synth_pipeline.defs.resources import default_resources
from synth_pipeline.defs.settings import OWNERS, PIPELINE_GROUP


def build_definitions() -> dg.Definitions:
    stages = dg.Definitions.merge(
        sampling.defs,
        privacy.defs,
        calibration.defs,
        generation.defs,
        loading.defs,
        reports.defs,
        lifecycle.defs,
        orchestration.defs,
        scaleout.defs,
        dg.Definitions(resources=default_resources()),
    )
    # map_asset_specs is "preview" in Dagster 1.13; it is the one place that sets every asset's owners.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return stages.map_asset_specs(func=lambda spec: spec.replace_attributes(owners=OWNERS, group_name=PIPELINE_GROUP))


defs = build_definitions()

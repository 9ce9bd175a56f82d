"""One setting chooses the environment: SYNTH_ENV = dev | staging | perf (default dev).

It sets, at definition time, the generation band and shard count (DESIGN.md section 6: ~1M
messages per shard), the default schema name of loads, and which provisioned environment's
secrets file (`.secrets/.env.{env}`) the perf target uses when it exists. Everything else that
names a database comes from the environment too (resources read DSNs at run time, never code).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ENV_VAR = "SYNTH_ENV"
AUTOMATION_VAR = "SYNTH_AUTOMATION"
OWNERS = ["team:database-performance"]
# One asset group: eight assets read best as one chain in the UI's lineage graph (with a group per
# stage, the graph shows collapsed group boxes); each asset's stage is its "stage" tag.
PIPELINE_GROUP = "synth_pipeline"


def automation_status():
    """Default status of the schedule and the sensors that chain the pipeline: RUNNING only where
    SYNTH_AUTOMATION=on (production, docker-compose), so that opening the UI on a laptop does
    not start regenerating from whatever a demo left behind. The TTL sensor is always on."""
    import dagster as dg

    on = os.environ.get(AUTOMATION_VAR, "").strip().lower() in ("on", "1", "true", "yes")
    return dg.DefaultSensorStatus.RUNNING if on else dg.DefaultSensorStatus.STOPPED


def schedule_status():
    import dagster as dg

    running = automation_status() == dg.DefaultSensorStatus.RUNNING
    return dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED


@dataclass(frozen=True)
class PipelineEnvironment:
    name: str
    band: str
    default_shards: int

    @property
    def load_schema(self) -> str:
        return f"synth_{self.name}"


ENVIRONMENTS = {
    "dev": PipelineEnvironment("dev", "dev", 5),
    "staging": PipelineEnvironment("staging", "staging", 100),
    "perf": PipelineEnvironment("perf", "perf", 300),
}


def current_environment() -> PipelineEnvironment:
    name = os.environ.get(ENV_VAR, "dev").strip() or "dev"
    if name not in ENVIRONMENTS:
        raise ValueError(f"{ENV_VAR}={name!r}: choose one of {', '.join(ENVIRONMENTS)}")
    return ENVIRONMENTS[name]


SEED_VAR = "SYNTH_SEED"
MESSAGES_VAR = "SYNTH_GENERATION_MESSAGES"


def generation_overrides() -> dict[str, int]:
    """Run-time generation settings for sensor-launched runs: SYNTH_SEED (default 0) and
    SYNTH_GENERATION_MESSAGES (a custom size instead of the environment's band; demos and tests)."""
    values = {}
    for key, var in (("seed", SEED_VAR), ("messages", MESSAGES_VAR)):
        raw = os.environ.get(var, "").strip()
        if raw:
            if not raw.isdigit():
                raise ValueError(f"{var}={raw!r}: give a non-negative integer")
            values[key] = int(raw)
    return values

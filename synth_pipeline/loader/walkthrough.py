"""The perf-database lifecycle in one call, for `make demo`: provision -> load -> verify -> (keep
for inspection | tear down). Prints one line per step; returns the verify report's verdict."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from synth_pipeline.loader import secrets_store
from synth_pipeline.loader.load import load_shards
from synth_pipeline.loader.provision import provision
from synth_pipeline.loader.teardown import teardown_env
from synth_pipeline.loader.verify import verify_schema

DEMO_SCHEMA = "chat"


def run_lifecycle(shards_dir: str | Path, admin_url: str, *, env: str = "dev", schema: str = DEMO_SCHEMA,
                  mapping: str = "reference", keep: bool = False, say: Callable[[str], None] = print) -> bool:
    provisioned = provision(env, admin_url)
    say(f"provisioned {provisioned.database} (roles {', '.join(provisioned.roles.all())}); secrets in {provisioned.secrets_file}")
    for item in provisioned.not_enabled:
        say(f"  not enabled: {item}")
    target = secrets_store.env_database_url(env)
    result = load_shards(shards_dir, target, schema, mapping=mapping)
    say(f"loaded {sum(result.rows.values()):,} rows into {provisioned.database}.{schema} as the owner role "
        f"(COPY {result.copy_s:.1f} s, keys and indexes {result.index_s:.1f} s); expires {result.expires_at}")
    report = verify_schema(target, schema)
    say(f"verify: {'ok' if report.ok else 'BROKEN: ' + ', '.join(c.name for c in report.failures)} "
        f"({len(report.checks)} checks)")
    if keep:
        say(f"kept for inspection: psql \"$(grep ^DATABASE_URL_READONLY= {secrets_store.env_file(env)} | cut -d= -f2-)\"; "
            f"remove with: synth-pipeline teardown --env {env} --confirm {env}")
    else:
        dropped = teardown_env(env, env, admin_url)
        say(f"tore down: {', '.join(dropped.dropped)}")
    return report.ok

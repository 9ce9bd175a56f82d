"""Lifecycle jobs: `teardown_job` (typed confirmation in run config) and `ttl_teardown_job` (run
by the TTL sensor for one expired load). Thin shells over synth_pipeline.loader.teardown / ttl.

Run config never carries a password: a schema's database is named by a provisioned `env` (its
secrets file) or by `target`, a DSN without password (credentials from trust, ~/.pgpass or
PGPASSWORD); the admin URL for environment teardown comes from the `admin_db` resource
(SYNTH_ADMIN_URL, else SYNTH_DATABASE_URL, else the embedded server).

Both ops refuse to drop anything in the production source: SYNTH_SOURCE_URL and the `source_db`
resource when it is named (defs/loading/resources.py `production_sources`).
"""


import dagster as dg

from synth_pipeline.defs.resources import PostgresDatabase


class TeardownConfig(dg.Config):
    env: str = ""  # dev | staging | perf
    schema_name: str = ""  # set: drop only this loaded schema (of env, or of target)
    target: str = ""  # the schema's database as a DSN without password (when not in a provisioned env)
    confirm: str = ""  # the environment (or schema) name typed again


class ExpiredLoadConfig(dg.Config):
    schema_name: str
    env: str = ""
    target: str = ""
    run_id: str = ""


def _target_dsn(env: str, target: str) -> str:
    from synth_pipeline.errors import SynthError
    from synth_pipeline.infra.dsn import dsn_params
    from synth_pipeline.loader.secrets_store import env_database_url

    if env:
        return env_database_url(env)
    if not target:
        raise SynthError("name the schema's environment (env) or its database (target, a DSN without password)")
    if dsn_params(target).get("password"):
        raise SynthError("target must not carry a password (run config is stored): use ~/.pgpass or PGPASSWORD")
    return target


def _as_failure(exc: Exception) -> dg.Failure:
    return dg.Failure(description=str(exc), allow_retries=False)


@dg.op(description="Drop an environment (database, roles, secrets) or one loaded schema; needs confirm = the name.")
def teardown_op(context: dg.OpExecutionContext, config: TeardownConfig, admin_db: PostgresDatabase,
                source_db: PostgresDatabase) -> None:
    from synth_pipeline.defs.loading.resources import production_sources
    from synth_pipeline.errors import SynthError
    from synth_pipeline.loader.teardown import teardown_env, teardown_schema

    try:
        if config.schema_name:
            result = teardown_schema(_target_dsn(config.env, config.target), config.schema_name, config.confirm or None,
                                     source_urls=production_sources(source_db))
        elif config.env:
            result = teardown_env(config.env, config.confirm or None, admin_db.dsn(),
                                  source_urls=production_sources(source_db))
        else:
            raise SynthError("run config: set env (and confirm = env), or schema_name with env or target (and confirm)")
    except SynthError as exc:
        raise _as_failure(exc) from None
    context.log.info(f"tore down {result.target}: {', '.join(result.dropped) or 'nothing left to drop'}")


@dg.op(description="Drop one load whose expires_at has passed (re-checked before dropping).")
def drop_expired_load(context: dg.OpExecutionContext, config: ExpiredLoadConfig, source_db: PostgresDatabase) -> None:
    from synth_pipeline.defs.loading.resources import production_sources
    from synth_pipeline.errors import SynthError
    from synth_pipeline.loader.ttl import enforce_if_expired

    try:
        target = None if config.env else _target_dsn("", config.target)
        dropped = enforce_if_expired(schema=config.schema_name, env=config.env or None, target=target,
                                     source_urls=production_sources(source_db))
    except SynthError as exc:
        raise _as_failure(exc) from None
    context.log.info(f"schema {config.schema_name}: " + ("expired, torn down" if dropped else "not expired (or gone); kept"))


@dg.job(description="Tear down a perf environment or one loaded schema. Run config: ops.teardown_op.config "
        "{env, schema_name, target, confirm}; confirm must repeat the environment (or schema) name.")
def teardown_job() -> None:
    teardown_op()


@dg.job(description="Tear down one expired load (requested by ttl_sensor).")
def ttl_teardown_job() -> None:
    drop_expired_load()

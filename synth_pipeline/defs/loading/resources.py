"""The perf target of loads: a provisioned environment's secrets file, or a URL from the environment.

Never a DSN in code or in run config: `dsn()` reads, in order, the secrets file of `env` (or of
SYNTH_PERF_ENV, or of SYNTH_ENV once that environment is provisioned), then the variable named by `url_env` (SYNTH_PERF_URL), then SYNTH_DATABASE_URL,
then the embedded server.

`production_sources` names the production sources the loading, reports and lifecycle assets must
never write to (docs/perf-database.md, "Which targets are allowed"); they pass them to the core
(`source_urls=`), which refuses them (loader/safety.py `refuse_source`).
"""


import os

import dagster as dg

from synth_pipeline.defs.resources import PostgresDatabase

PERF_ENV_VAR = "SYNTH_PERF_ENV"


def production_sources(source_db: "PostgresDatabase | None" = None) -> list[str]:
    """The production source DSNs that are *named*: SYNTH_SOURCE_URL, and the `source_db` resource
    when its variable (`url_env`, SYNTH_SOURCE_URL by default; tests and deployments may use
    another) is set or it names a `database`.

    A source that is not named is not a production source: `source_db` then falls back to
    SYNTH_DATABASE_URL or the embedded server, a developer's own database, and only the loader's
    target rule applies (a provisioned perf database, or `synth_*` schemas). Resolving that
    fallback here could also start the embedded server, which a refusal must never do.
    """
    from synth_pipeline.loader.safety import SOURCE_URL_ENV

    found = []
    if os.environ.get(SOURCE_URL_ENV):
        found.append(os.environ[SOURCE_URL_ENV])
    if source_db is not None and (os.environ.get(source_db.url_env) or source_db.database):
        found.append(source_db.dsn())
    return found


class PerfTarget(dg.ConfigurableResource):
    env: str = ""  # dev | staging | perf: use .secrets/.env.{env} (the owner role loads)
    url_env: str = "SYNTH_PERF_URL"

    def environment(self) -> str | None:
        explicit = self.env or os.environ.get(PERF_ENV_VAR)
        if explicit:
            return explicit
        # SYNTH_ENV chooses the environment; its secrets are used once it has been provisioned.
        from synth_pipeline.defs.settings import current_environment
        from synth_pipeline.loader.secrets_store import env_file

        name = current_environment().name
        return name if env_file(name).exists() else None

    def dsn(self) -> str:
        env = self.environment()
        if env:
            from synth_pipeline.loader.secrets_store import env_database_url

            return env_database_url(env)
        from synth_pipeline.infra.embedded_pg import resolve_database_url

        return resolve_database_url(os.environ.get(self.url_env) or None)

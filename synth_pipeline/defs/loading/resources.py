"""The perf target of loads: a provisioned environment's secrets file, or a URL from the environment.

Never a DSN in code or in run config: `dsn()` reads, in order, the secrets file of `env` (or of
SYNTH_PERF_ENV, or of SYNTH_ENV once that environment is provisioned), then the variable named by `url_env` (SYNTH_PERF_URL), then SYNTH_DATABASE_URL,
then the embedded server.
"""


import os

import dagster as dg

PERF_ENV_VAR = "SYNTH_PERF_ENV"


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

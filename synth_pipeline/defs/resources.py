"""Resources shared by the stage definitions. DSNs come from the environment, never from code."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from synth_pipeline.paths import state_dir


class PostgresDatabase(dg.ConfigurableResource):
    """A PostgreSQL database whose URL is read from the environment variable `url_env` at run
    time; unset, it falls back to SYNTH_DATABASE_URL, then to the embedded server."""

    url_env: str = "SYNTH_DATABASE_URL"
    database: str | None = None

    def dsn(self) -> str:
        from synth_pipeline.infra.embedded_pg import resolve_database_url

        return resolve_database_url(os.environ.get(self.url_env) or None, database=self.database)


class PipelineStorage(dg.ConfigurableResource):
    """Where artifacts go: packs, specs, shards, load records (default .synth/artifacts).

    `shard_store`: where shard sets go, a local directory or a pyarrow filesystem URI
    (`s3://bucket/prefix`, credentials from the environment, infra/shard_store.py); empty:
    SYNTH_SHARD_STORE, else `<root>/shards`.
    """

    root: str = ""
    shard_store: str = ""

    def shards_location(self, *parts: str, store: str = "") -> Path | str:
        """`<shard store>/<parts>`: a Path for a local store, else the URI. `store` (a caller's own
        shard store setting) takes precedence over this resource's."""
        from synth_pipeline.infra.shard_store import check_location, join

        store = store or self.shard_store or os.environ.get("SYNTH_SHARD_STORE", "")
        if not store:
            return self.path("shards", *parts)
        check_location(store, "shard_store")
        return join(store, *parts)

    def path(self, *parts: str) -> Path:
        base = Path(self.root) if self.root else state_dir() / "artifacts"
        target = base.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target


class LandingDirectory(dg.ConfigurableResource):
    """Where metrics packs arrive from production: `<path>/<pack id>.json` + `<pack id>_mapping.json`.

    Empty `path` means SYNTH_LANDING_DIR, else `.synth/landing`.
    """

    path: str = ""

    def root(self) -> Path:
        target = Path(self.path or os.environ.get("SYNTH_LANDING_DIR") or state_dir() / "landing")
        target.mkdir(parents=True, exist_ok=True)
        return target

    def pack_path(self, pack_id: str) -> Path:
        return self.root() / f"{pack_id}.json"


def default_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "source_db": PostgresDatabase(url_env="SYNTH_SOURCE_URL"),
        "storage": PipelineStorage(),
        "landing": LandingDirectory(),
    }

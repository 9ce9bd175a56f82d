"""`ttl-check [--enforce]`: find loads past `expires_at` and, with --enforce, tear them down.

Where loads are found (docs/perf-database.md):
- every provisioned environment with a secrets file (`.secrets/.env.*`), read with its owner URL;
- every target in the local load registry `.synth/loads.json` (loads made from this machine,
  including isolated `synth_` schemas in other databases).
In each database, synth_meta is the authority: a managed schema expires at the `expires_at` of
its latest load run (`--ttl-days` of that load), compared with the server's `now()`.
Enforcing drops the expired *schema* (teardown.teardown_schema, audit action `ttl_teardown`);
an environment's database and roles are only removed by an explicit, confirmed teardown.

A database that cannot be reached is not "checked": the report lists it as unreachable and the
CLI exits 2 (docs/perf-database.md, "Expiry"). Registry entries whose database or schema no longer
exists are pruned (and reported): a database counts as gone only when the server answers, through
its `postgres` (or `template1`) database, that it is not in pg_database; a schema only when it is
neither in pg_namespace nor in synth_meta.managed_schemas.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from synth_pipeline.errors import SynthError
from synth_pipeline.infra.dsn import connect, database_exists, dsn_params, redact_dsn, with_database
from synth_pipeline.loader import audit, meta, registry, secrets_store
from synth_pipeline.loader.safety import refuse_source
from synth_pipeline.loader.teardown import teardown_schema


@dataclass(frozen=True)
class ExpiredLoad:
    env: str | None
    dsn: str
    schema: str
    run_id: str
    expires_at: str

    @property
    def where(self) -> str:
        return f"env {self.env}" if self.env else redact_dsn(registry.dsn_without_password(self.dsn))


@dataclass
class TtlReport:
    expired: list[ExpiredLoad] = field(default_factory=list)
    torn_down: list[ExpiredLoad] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)  # one line per database that could not be checked
    pruned: list[str] = field(default_factory=list)  # one line per registry entry removed (database or schema gone)
    checked_targets: int = 0  # databases actually checked (reachable)

    @property
    def remaining(self) -> list[ExpiredLoad]:
        return [e for e in self.expired if e not in self.torn_down]


def _targets(registered: list[dict[str, Any]] | None = None) -> list[tuple[str | None, str]]:
    """(env or None, dsn) of every database to look at, one per server database (`registered`: the
    registry's entries, read here when not given)."""
    found: dict[str, tuple[str | None, str]] = {}
    for env in secrets_store.provisioned_envs():
        try:
            dsn = secrets_store.env_database_url(env)
        except SynthError:
            continue
        found[registry.target_key(dsn)] = (env, dsn)
    for entry in registry.entries() if registered is None else registered:
        if entry.get("env"):
            if entry["env"] not in secrets_store.provisioned_envs():
                continue  # torn down: nothing left to connect with
            dsn = secrets_store.env_database_url(entry["env"])
        else:
            dsn = entry["target"]
        found.setdefault(registry.target_key(dsn), (entry.get("env"), dsn))
    return list(found.values())


def _expired_rows(conn: psycopg.Connection, env: str | None, dsn: str) -> list[ExpiredLoad]:
    rows = meta.schema_expiry(conn)
    now = conn.execute("SELECT now()").fetchone()[0]
    return [ExpiredLoad(env, dsn, schema, run_id, expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
            for schema, expires_at, run_id in rows if expires_at <= now]


def _expired_in(env: str | None, dsn: str) -> list[ExpiredLoad]:
    with connect(dsn, purpose="perf target", autocommit=True, connect_timeout=10) as conn:
        return _expired_rows(conn, env, dsn)


def _missing_schemas(conn: psycopg.Connection, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Registry entries whose schema neither exists nor is managed in the connected database."""
    managed = set(meta.managed_schema_names(conn))
    return [e for e in entries if e["schema"] not in managed and not meta.schema_exists(conn, e["schema"])]


def _database_is_gone(dsn: str) -> bool:
    """True only when the server itself says the database does not exist (never on a guess)."""
    database = dsn_params(dsn).get("dbname")
    if not database:
        return False
    for maintenance in ("postgres", "template1"):
        if maintenance == database:
            continue
        try:
            with connect(with_database(dsn, maintenance), purpose="maintenance", autocommit=True, connect_timeout=10) as conn:
                return not database_exists(conn, database)
        except (SynthError, psycopg.Error):
            continue
    return False


def _entry_line(entry: dict[str, Any]) -> str:
    where = f"env {entry['env']}" if entry.get("env") else redact_dsn(entry.get("target") or entry["target_key"])
    return f"schema {entry['schema']} ({where})"


def _prune(report: TtlReport, key: str, entries: list[dict[str, Any]], why: str) -> None:
    removed = registry.prune(key, [(e["schema"], e.get("run_id")) for e in entries])
    for e in removed:
        report.pruned.append(f"{_entry_line(e)}: {why}")


def find_expired(*, prune: bool = True) -> TtlReport:
    """Expired loads in every target; unreachable targets listed; with `prune`, registry entries
    whose database or schema is gone removed from the local registry."""
    report = TtlReport()
    entries = registry.entries()  # read once; a target's prune only removes that target's entries
    by_target: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_target.setdefault(entry["target_key"], []).append(entry)
    for env, dsn in _targets(entries):
        key = registry.target_key(dsn)
        registered = by_target.get(key, [])
        try:
            with connect(dsn, purpose="perf target", autocommit=True, connect_timeout=10) as conn:
                report.expired += _expired_rows(conn, env, dsn)
                gone = _missing_schemas(conn, registered) if prune else []
        except SynthError as exc:
            if prune and env is None and _database_is_gone(dsn):
                _prune(report, key, registered, "its database no longer exists")
            else:
                runs = [e.get("run_id") for e in registered if e.get("run_id")]
                # The run ids let an operator drop entries of a database gone for good (--forget).
                report.unreachable.append(f"{exc}" + (f" [registered runs: {', '.join(runs)}]" if runs else ""))
            continue
        report.checked_targets += 1
        if gone:
            _prune(report, key, gone, "the schema no longer exists")
    return report


def enforce_if_expired(*, schema: str, env: str | None = None, target: str | None = None,
                       source_urls: Iterable[str] = ()) -> ExpiredLoad | None:
    """Tear down one load if it is (still) expired; for the Dagster TTL job. `target` is a DSN
    without password (credentials from trust, ~/.pgpass or PGPASSWORD), `env` a provisioned one.
    A production source (SYNTH_SOURCE_URL, `source_urls`) is refused before it is read."""
    dsn = secrets_store.env_database_url(env) if env else target
    if not dsn:
        raise SynthError("name the load's environment or its target DSN")
    refuse_source(dsn, source_urls)
    for load in _expired_in(env, dsn):
        if load.schema == schema:
            enforce_one(load, source_urls=source_urls)
            return load
    return None


def ttl_check(*, enforce: bool = False) -> TtlReport:
    report = find_expired()
    if enforce:
        for load in report.expired:
            enforce_one(load)
            report.torn_down.append(load)
    if report.expired or report.unreachable:
        record_check(report)
    return report


def forget_runs(run_ids: list[str]) -> list[str]:
    """Drop registry entries by run id (never touches a database); one line per entry forgotten.
    Unknown run ids are an error (registry.forget_runs): nothing is forgotten then."""
    removed = registry.forget_runs(run_ids)
    lines = [f"{_entry_line(e)}, run {e['run_id']}" for e in removed]
    audit.append("ttl_forget", {"runs": sorted(run_ids), "entries": len(removed)})
    return lines


def enforce_one(load: ExpiredLoad, *, source_urls: Iterable[str] = ()) -> None:
    """Drop one expired schema (audit action ttl_teardown)."""
    teardown_schema(load.dsn, load.schema, confirm=load.schema, reason="ttl_teardown", source_urls=source_urls)


def record_check(report: TtlReport) -> None:
    audit.append("ttl_check", {
        "expired": [{"schema": e.schema, "where": e.where, "run_id": e.run_id, "expires_at": e.expires_at} for e in report.expired],
        "torn_down": [e.schema for e in report.torn_down],
        "unreachable": len(report.unreachable),
    })

"""`ttl-check [--enforce]`: find loads past `expires_at` and, with --enforce, tear them down.

Where loads are found (docs/perf-database.md):
- every provisioned environment with a secrets file (`.secrets/.env.*`), read with its owner URL;
- every target in the local load registry `.synth/loads.json` (loads made from this machine,
  including isolated `synth_` schemas in other databases).
In each database, synth_meta is the authority: a managed schema expires at the `expires_at` of
its latest load run (`--ttl-days` of that load), compared with the server's `now()`.
Enforcing drops the expired *schema* (teardown.teardown_schema, audit action `ttl_teardown`);
an environment's database and roles are only removed by an explicit, confirmed teardown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from synth_pipeline.errors import SynthError
from synth_pipeline.infra.dsn import connect, redact_dsn
from synth_pipeline.loader import audit, meta, registry, secrets_store
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
    unreachable: list[str] = field(default_factory=list)
    checked_targets: int = 0

    @property
    def remaining(self) -> list[ExpiredLoad]:
        return [e for e in self.expired if e not in self.torn_down]


def _targets() -> list[tuple[str | None, str]]:
    """(env or None, dsn) of every database to look at, one per server database."""
    found: dict[str, tuple[str | None, str]] = {}
    for env in secrets_store.provisioned_envs():
        try:
            dsn = secrets_store.env_database_url(env)
        except SynthError:
            continue
        found[registry.target_key(dsn)] = (env, dsn)
    for entry in registry.entries():
        if entry.get("env"):
            if entry["env"] not in secrets_store.provisioned_envs():
                continue  # torn down: nothing left to connect with
            dsn = secrets_store.env_database_url(entry["env"])
        else:
            dsn = entry["target"]
        found.setdefault(registry.target_key(dsn), (entry.get("env"), dsn))
    return list(found.values())


def _expired_in(env: str | None, dsn: str) -> list[ExpiredLoad]:
    with connect(dsn, purpose="perf target", autocommit=True, connect_timeout=10) as conn:
        rows = meta.schema_expiry(conn)
        now = conn.execute("SELECT now()").fetchone()[0]
    return [ExpiredLoad(env, dsn, schema, run_id, expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
            for schema, expires_at, run_id in rows if expires_at <= now]


def find_expired() -> TtlReport:
    report = TtlReport()
    for env, dsn in _targets():
        report.checked_targets += 1
        try:
            report.expired += _expired_in(env, dsn)
        except SynthError as exc:
            report.unreachable.append(str(exc))
    return report


def enforce_if_expired(*, schema: str, env: str | None = None, target: str | None = None) -> ExpiredLoad | None:
    """Tear down one load if it is (still) expired; for the Dagster TTL job. `target` is a DSN
    without password (credentials from trust, ~/.pgpass or PGPASSWORD), `env` a provisioned one."""
    dsn = secrets_store.env_database_url(env) if env else target
    if not dsn:
        raise SynthError("name the load's environment or its target DSN")
    for load in _expired_in(env, dsn):
        if load.schema == schema:
            enforce_one(load)
            return load
    return None


def ttl_check(*, enforce: bool = False) -> TtlReport:
    report = find_expired()
    if enforce:
        for load in report.expired:
            enforce_one(load)
            report.torn_down.append(load)
    if report.expired:
        record_check(report)
    return report


def enforce_one(load: ExpiredLoad) -> None:
    """Drop one expired schema (audit action ttl_teardown)."""
    teardown_schema(load.dsn, load.schema, confirm=load.schema, reason="ttl_teardown")


def record_check(report: TtlReport) -> None:
    audit.append("ttl_check", {
        "expired": [{"schema": e.schema, "where": e.where, "run_id": e.run_id, "expires_at": e.expires_at} for e in report.expired],
        "torn_down": [e.schema for e in report.torn_down],
        "unreachable": len(report.unreachable),
    })

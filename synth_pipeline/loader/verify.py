"""`verify`: integrity of a loaded schema, by SQL on the server (read-only; the app or read-only
role may run it).

Checks (each reports the number it observed):
- `load.complete`: the load finished (keys and indexes built), not interrupted;
- `rows.<table>`: row count equals the shard manifest's (stored in synth_meta.managed_schemas);
- `fk.<table>.<columns>`: every foreign key resolves. When a *validated* foreign-key constraint on
  exactly those columns exists, PostgreSQL already proved it (the loader builds them after the
  data); otherwise, or with `full=True`, an anti-join counts the orphans. This covers orphan
  participants (conversation or user missing) and orphan reads (message or user missing);
- `reads.by_non_participant`: a read by a user who is not a participant of the message's
  conversation (an orphan read of another kind);
- `reads.before_message`: read_at earlier than the message's created_at;
- `identity.*`: the synthetic identity contract of DESIGN.md section 4 on users, counted by the
  privacy stage's dataset-quality code (`real_email_count`: emails not `syn_user_{id}@synthetic.test`;
  usernames, names and bios off-pattern; identities carrying another id). Only counts are read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from synth_pipeline.errors import SynthError
from synth_pipeline.infra.dsn import connect
from synth_pipeline.loader import meta
from synth_pipeline.loader.safety import validate_schema_name
from synth_pipeline.schema.logical import LOGICAL_TABLES
from synth_pipeline.schema.mapping import Mapping, load_mapping

VERIFY_SESSION = {"work_mem": "256MB"}

_VALIDATED_FK = """
SELECT c.conname FROM pg_constraint c
WHERE c.contype = 'f' AND c.convalidated AND c.conrelid = %(child)s::regclass AND c.confrelid = %(parent)s::regclass
  AND (SELECT array_agg(a.attname::text ORDER BY k.ord)
       FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) = %(columns)s::text[]
LIMIT 1
"""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    observed: int
    expected: int = 0
    detail: str = ""

    def line(self) -> str:
        status = "ok  " if self.ok else "FAIL"
        note = f" ({self.detail})" if self.detail else ""
        return f"{status} {self.name}: {self.observed} (expected {self.expected}){note}"


@dataclass
class VerifyReport:
    schema: str
    mapping: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def as_dict(self) -> dict[str, int]:
        return {c.name: c.observed for c in self.checks}


def verify_schema(dsn: str, schema: str, *, mapping: Mapping | str | None = None, full: bool = False) -> VerifyReport:
    validate_schema_name(schema)
    with connect(dsn, purpose="perf target", autocommit=True) as conn:
        managed = meta.require_managed(conn, schema)
        resolved = _resolve_mapping(managed, mapping)
        for name, value in VERIFY_SESSION.items():
            conn.execute("SELECT set_config(%s, %s, false)", (name, value))
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            report = run_checks(conn, schema, resolved, managed.expected_rows, full=full)
        complete = managed.state == "COMPLETE"
        report.checks.insert(0, Check("load.complete", complete, int(complete), 1,
                                      detail=f"state {managed.state}" + ("" if complete else ": re-run load to finish it")))
        return report


def _resolve_mapping(managed: meta.ManagedSchema, mapping: Mapping | str | None) -> Mapping:
    if isinstance(mapping, Mapping):
        return mapping
    if mapping is not None:
        return load_mapping(mapping)
    for candidate in (managed.mapping_path, managed.mapping_name):
        try:
            loaded = load_mapping(candidate)
        except SynthError:
            continue
        if loaded.sha256 == managed.mapping_sha256:
            return loaded
    raise SynthError(f"the mapping {managed.mapping_name!r} used by the load is not available here; pass --mapping FILE")


def run_checks(conn: psycopg.Connection, schema: str, mapping: Mapping, expected_rows: dict[str, int], *,
               full: bool = False) -> VerifyReport:
    report = VerifyReport(schema=schema, mapping=mapping.name)
    for logical, count in meta.table_counts(conn, schema, mapping).items():
        expected = int(expected_rows.get(logical, 0))
        report.checks.append(Check(f"rows.{logical}", count == expected, count, expected))
    report.checks += _foreign_key_checks(conn, schema, mapping, full)
    report.checks += _read_checks(conn, schema, mapping)
    report.checks += _identity_checks(conn, schema, mapping)
    return report


def _foreign_key_checks(conn: psycopg.Connection, schema: str, mapping: Mapping, full: bool) -> list[Check]:
    checks = []
    for lt in LOGICAL_TABLES:
        if not mapping.has_table(lt.name):
            continue
        for fk in lt.foreign_keys:
            if not mapping.has_table(fk.ref_table):
                continue
            name = f"fk.{lt.name}.{'_'.join(fk.columns)}"
            constraint = None if full else _validated_constraint(conn, schema, mapping, lt.name, fk)
            if constraint:
                checks.append(Check(name, True, 0, detail=f"enforced by validated constraint {constraint}"))
                continue
            join = sql.SQL(" AND ").join(
                sql.SQL("{} = {}").format(mapping.qualified_column("p", fk.ref_table, r), mapping.qualified_column("c", lt.name, c))
                for c, r in zip(fk.columns, fk.ref_columns)
            )
            orphans = conn.execute(
                sql.SQL("SELECT count(*) FROM {} AS c WHERE NOT EXISTS (SELECT 1 FROM {} AS p WHERE {})").format(
                    mapping.table(schema, lt.name), mapping.table(schema, fk.ref_table), join
                )
            ).fetchone()[0]
            checks.append(Check(name, orphans == 0, orphans, detail=f"rows of {lt.name} whose {fk.ref_table} is missing"))
    return checks


def _validated_constraint(conn: psycopg.Connection, schema: str, mapping: Mapping, logical: str, fk) -> str | None:
    row = conn.execute(_VALIDATED_FK, {
        "child": mapping.table(schema, logical).as_string(conn),
        "parent": mapping.table(schema, fk.ref_table).as_string(conn),
        "columns": [mapping.column_name(logical, c) for c in fk.columns],
    }).fetchone()
    return row[0] if row else None


def _read_checks(conn: psycopg.Connection, schema: str, mapping: Mapping) -> list[Check]:
    if not (mapping.has_table("message_reads") and mapping.has_table("messages")):
        return []
    r = lambda c: mapping.qualified_column("r", "message_reads", c)  # noqa: E731
    m = lambda c: mapping.qualified_column("m", "messages", c)  # noqa: E731
    p = lambda c: mapping.qualified_column("p", "conversation_participants", c)  # noqa: E731
    before, non_participant = conn.execute(
        sql.SQL(
            "SELECT count(*) FILTER (WHERE {read_at} < {created_at}), count(*) FILTER (WHERE {p_user} IS NULL) "
            "FROM {reads} AS r JOIN {messages} AS m ON {m_id} = {r_message} "
            "LEFT JOIN {participants} AS p ON {p_conv} = {m_conv} AND {p_user} = {r_user}"
        ).format(
            read_at=r("read_at"), created_at=m("created_at"), p_user=p("user_id"),
            reads=mapping.table(schema, "message_reads"), messages=mapping.table(schema, "messages"),
            m_id=m("id"), r_message=r("message_id"), participants=mapping.table(schema, "conversation_participants"),
            p_conv=p("conversation_id"), m_conv=m("conversation_id"), r_user=r("user_id"),
        )
    ).fetchone()
    return [
        Check("reads.before_message", before == 0, before, detail="reads earlier than their message"),
        Check("reads.by_non_participant", non_participant == 0, non_participant,
              detail="reads by a user who is not a participant of the conversation"),
    ]


def _identity_checks(conn: psycopg.Connection, schema: str, mapping: Mapping) -> list[Check]:
    """The users part of the privacy stage's dataset-quality check (one pass over users). Its
    message-vocabulary part is left to `synth-pipeline dataset-quality`: a word split of every
    message costs ~40 s per 5M messages, too much for this gate."""
    from synth_pipeline.privacy.dataset_quality import DatasetQualityReport, count_identity_violations

    quality = DatasetQualityReport(schema=schema)
    count_identity_violations(conn, schema, mapping, quality)
    return [
        Check(f"identity.{name}", not value, value, detail="rows outside the synthetic identity contract")
        for name, value in quality.counts.items()
        if value is not None
    ]

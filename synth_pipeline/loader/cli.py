"""CLI commands of the loader stage: load, verify, provision, teardown, ttl-check, audit verify.

Database URLs: `--target-url URL`, or `--env ENV` to read DATABASE_URL from `.secrets/.env.ENV`.
Admin URL (provision, environment teardown): `--admin-url`, else SYNTH_ADMIN_URL, else
SYNTH_DATABASE_URL, else the embedded server. Exit codes: 0 ok, 1 a check found a problem, 2 usage,
input or a refused unsafe target; errors are one line on stderr and never show a password.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from synth_pipeline.cliutil import non_negative_float, positive_int
from synth_pipeline.errors import EXIT_CHECK_FAILED, SynthError

ADMIN_URL_ENV = "SYNTH_ADMIN_URL"
ENV_CHOICES = ("dev", "staging", "perf")


def _admin_url(args: argparse.Namespace) -> str:
    if args.admin_url:
        return args.admin_url
    if os.environ.get(ADMIN_URL_ENV):
        return os.environ[ADMIN_URL_ENV]
    from synth_pipeline.infra.embedded_pg import resolve_database_url

    return resolve_database_url()


def _target_url(args: argparse.Namespace) -> str:
    if args.target_url and args.env:
        raise SynthError("pass either --target-url or --env, not both")
    if args.target_url:
        return args.target_url
    if args.env:
        from synth_pipeline.loader.secrets_store import env_database_url

        return env_database_url(args.env)
    raise SynthError("no target: pass --target-url URL or --env dev|staging|perf (a provisioned environment)")


def _add_target(parser: argparse.ArgumentParser, *, required_schema: bool = True) -> None:
    parser.add_argument("--target-url", help="perf database URL")
    parser.add_argument("--env", choices=ENV_CHOICES, help="use DATABASE_URL of .secrets/.env.ENV instead of --target-url")
    parser.add_argument("--schema", required=required_schema,
                        help="target schema (in a non-provisioned database it must start with synth_)")


def _print_progress(partition: str, rows: int, seconds: float) -> None:
    print(f"  loaded {partition}: {rows:,} rows in {seconds:.1f} s ({rows / max(seconds, 1e-9):,.0f} rows/s)",
          file=sys.stderr, flush=True)


def _load(args: argparse.Namespace) -> int:
    from synth_pipeline.loader.load import load_shards

    result = load_shards(args.shards, _target_url(args), args.schema, mapping=args.mapping, ttl_days=args.ttl_days,
                         source_url=args.source_url, jobs=args.jobs, progress=_print_progress)
    if result.already_complete:
        print(f"schema {result.schema} already holds this shard set (run {result.run_id}, COMPLETED); nothing to do")
    else:
        total = sum(result.rows.values())
        print(f"run {result.run_id}: {result.status}; {total} rows into schema {result.schema} "
              f"(COPY {result.copy_s:.1f} s, keys and indexes {result.index_s:.1f} s, total {result.duration_s:.1f} s)")
        for table_name, count in result.rows.items():
            print(f"  {table_name}: {count}")
        if result.partitions_skipped:
            print(f"  resumed: {len(result.partitions_skipped)} partition(s) already in the ledger were skipped")
        print(f"  expires at {result.expires_at}; record: {result.run_file}")
    if args.verify:
        return _print_verify(_target_url(args), args.schema, None, full=False, as_json=False)
    return 0


def _verify(args: argparse.Namespace) -> int:
    return _print_verify(_target_url(args), args.schema, args.mapping, full=args.full, as_json=args.json)


def _print_verify(dsn: str, schema: str, mapping: str | None, *, full: bool, as_json: bool) -> int:
    from synth_pipeline.loader.verify import verify_schema

    report = verify_schema(dsn, schema, mapping=mapping, full=full)
    if as_json:
        print(json.dumps({"schema": report.schema, "ok": report.ok,
                          "checks": [c.__dict__ for c in report.checks]}, indent=2, sort_keys=True))
    else:
        for check in report.checks:
            print(check.line())
    if not report.ok:
        names = ", ".join(c.name for c in report.failures)
        print(f"synth-pipeline verify: integrity broken in schema {schema}: {names}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    return 0


def _provision(args: argparse.Namespace) -> int:
    from synth_pipeline.loader.provision import provision

    result = provision(args.env, _admin_url(args), rotate_passwords=args.rotate_passwords)
    print(f"environment {result.env}: database {result.database}, roles {', '.join(result.roles.all())}")
    print(f"  created: {', '.join(result.created) or 'nothing (already provisioned)'}; passwords {result.passwords_set}")
    print(f"  secrets: {result.secrets_file} (mode 0600)")
    for item in result.enabled:
        print(f"  enabled: {item}")
    for item in result.not_enabled:
        print(f"  NOT enabled: {item}")
    return 0


def _teardown(args: argparse.Namespace) -> int:
    from synth_pipeline.loader.teardown import teardown_env, teardown_schema

    if args.schema:
        result = teardown_schema(_target_url(args), args.schema, args.confirm, source_url=args.source_url)
    elif args.env:
        if args.target_url:
            raise SynthError("--target-url needs --schema; to remove a whole environment pass only --env and --confirm")
        result = teardown_env(args.env, args.confirm, _admin_url(args), source_url=args.source_url)
    else:
        raise SynthError("pass --env ENV --confirm ENV, or --target-url URL --schema NAME --confirm NAME")
    print(f"tore down {result.target}: dropped {', '.join(result.dropped) or 'nothing (already gone)'}")
    return 0


def _ttl_check(args: argparse.Namespace) -> int:
    """0 every database checked and no expired load left; 1 expired loads remain; 2 a database could
    not be checked (unreachable, or its credentials refused): the check is incomplete, so neither
    0 nor 1 would be true (2 is the CLI's code for an unreachable server)."""
    from synth_pipeline.loader.ttl import forget_runs, ttl_check

    if args.forget:
        for line in forget_runs(args.forget):
            print(f"forgot from the load registry: {line}")
    report = ttl_check(enforce=args.enforce)
    for load in report.expired:
        state = "torn down" if load in report.torn_down else "EXPIRED"
        print(f"{state}: schema {load.schema} ({load.where}), run {load.run_id}, expired at {load.expires_at}")
    for line in report.pruned:
        print(f"pruned from the load registry: {line}")
    for message in report.unreachable:
        print(f"UNREACHABLE: {message}")
    print(f"{report.checked_targets} database(s) checked, {len(report.unreachable)} unreachable, "
          f"{len(report.expired)} expired load(s), {len(report.torn_down)} torn down, "
          f"{len(report.pruned)} registry entr{'y' if len(report.pruned) == 1 else 'ies'} pruned")
    if report.unreachable:
        remaining = f"; {len(report.remaining)} expired load(s) remain" if report.remaining else ""
        more = f" (and {len(report.unreachable) - 1} more, listed above)" if len(report.unreachable) > 1 else ""
        raise SynthError(f"{len(report.unreachable)} database(s) could not be checked{more}: {report.unreachable[0]}{remaining}; "
                         "if a database is gone for good, drop its runs with --forget RUN_ID")
    if report.remaining:
        print("synth-pipeline ttl-check: expired loads remain; run with --enforce to tear them down", file=sys.stderr)
        return EXIT_CHECK_FAILED
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from synth_pipeline.loader.audit import verify

    report = verify(Path(args.log) if args.log else None)
    if report.intact:
        print(f"audit log {report.path}: intact ({report.lines} entries)")
        return 0
    for problem in report.problems:
        print(f"audit log {report.path}: {problem}")
    print(f"synth-pipeline audit verify: audit log {report.path} was tampered with ({len(report.problems)} problem(s))",
          file=sys.stderr)
    return EXIT_CHECK_FAILED


def register(subparsers: argparse._SubParsersAction) -> None:
    load = subparsers.add_parser(
        "load", help="load shards into an isolated schema of a perf database (binary COPY, resumable)",
        description="Verifies shard checksums, loads each partition in its own transaction with a ledger in "
        "synth_meta (a re-run resumes without duplicates), then builds keys, foreign keys and indexes and runs "
        "ANALYZE. Refuses the production source, non-perf targets and schemas it did not create.",
    )
    load.add_argument("--shards", required=True, metavar="DIR|URI", help="shard directory or s3://bucket/prefix URI (with manifest.json)")
    _add_target(load)
    load.add_argument("--mapping", default="reference", help="mapping name (reference, prisma) or file")
    load.add_argument("--ttl-days", type=non_negative_float, default=30.0, help="days until the load expires (default 30)")
    load.add_argument("--source-url", default=None, help="production source URL to refuse (default: SYNTH_SOURCE_URL)")
    load.add_argument("--jobs", type=positive_int, default=2, help="connections loading partitions side by side (default 2)")
    load.add_argument("--verify", action="store_true", help="run verify after loading")
    load.set_defaults(handler=_load)

    verify = subparsers.add_parser(
        "verify", help="integrity of a loaded schema (0 ok, 1 broken)",
        description="Row counts equal the manifest, every foreign key resolves (also without constraints), no "
        "orphan participants or reads, reads after their messages, synthetic identities only (real_email_count 0).",
    )
    _add_target(verify)
    verify.add_argument("--mapping", default=None, help="mapping (default: the one recorded by the load)")
    verify.add_argument("--full", action="store_true", help="scan foreign keys even when a validated constraint exists")
    verify.add_argument("--json", action="store_true", help="print the checks as JSON")
    verify.set_defaults(handler=_verify)

    provision = subparsers.add_parser(
        "provision", help="create a perf database, least-privilege roles and .secrets/.env.ENV",
        description="Creates database chat_perf_dev|chat_perf_staging|chat_perf, owner/app/readonly roles without "
        "SUPERUSER, CREATEDB or CREATEROLE, random passwords in .secrets/.env.ENV (0600), and enables "
        "pg_stat_statements and statement/connection logging where the server allows (it says what it could not).",
    )
    provision.add_argument("--env", required=True, choices=ENV_CHOICES)
    provision.add_argument("--admin-url", default=None,
                           help=f"superuser URL of the server (default: {ADMIN_URL_ENV}, else the embedded server)")
    provision.add_argument("--rotate-passwords", action="store_true", help="generate new passwords for existing roles")
    provision.set_defaults(handler=_provision)

    teardown = subparsers.add_parser(
        "teardown", help="drop an environment (database, roles, secrets) or one loaded schema; needs --confirm",
        description="--env ENV --confirm ENV drops the environment's database and roles and its secrets file; "
        "--target-url URL (or --env) --schema NAME --confirm NAME drops one schema the loader created.",
    )
    teardown.add_argument("--env", choices=ENV_CHOICES)
    teardown.add_argument("--target-url", help="database of the schema to drop")
    teardown.add_argument("--schema", help="drop only this loaded schema")
    teardown.add_argument("--confirm", help="type the environment (or schema) name again")
    teardown.add_argument("--admin-url", default=None, help=f"superuser URL (default: {ADMIN_URL_ENV}, else the embedded server)")
    teardown.add_argument("--source-url", default=None, help="production source URL to refuse (default: SYNTH_SOURCE_URL)")
    teardown.set_defaults(handler=_teardown)

    ttl = subparsers.add_parser(
        "ttl-check", help="list loads past expires_at (exit 1 if any remain, 2 if a database is unreachable); "
        "--enforce tears them down",
        description="Looks at provisioned environments (.secrets/) and the local load registry (.synth/loads.json); "
        "synth_meta.load_runs.expires_at in each database is the authority. Registry entries whose database or "
        "schema no longer exists are pruned. Exit 0 none left, 1 expired loads remain, 2 a database could not be "
        "checked.",
    )
    ttl.add_argument("--enforce", action="store_true", help="drop the expired schemas")
    ttl.add_argument("--forget", action="append", default=[], metavar="RUN_ID",
                     help="first drop this run's entry from the local registry (its database is gone for good, "
                     "e.g. a decommissioned host); repeatable; never touches a database")
    ttl.set_defaults(handler=_ttl_check)

    audit_parser = subparsers.add_parser("audit", help="audit log tools: `audit verify` (0 intact, 1 tampered, 2 unreadable)")
    audit_sub = audit_parser.add_subparsers(dest="audit_command", metavar="ACTION", parser_class=type(audit_parser))
    audit_sub.required = True
    audit_verify = audit_sub.add_parser("verify", help="check the hash chain of the audit log")
    audit_verify.add_argument("--log", default=None, help="audit log file (default: SYNTH_AUDIT_LOG, else .synth/audit.log)")
    audit_verify.set_defaults(handler=_audit_verify)

"""CLI commands of the sampler stage (registered by synth_pipeline.cli).

- `sample`: a metrics pack (+ PACK_mapping.json) from a read-only source (DESIGN.md section 5).
- `fake-production`: build a production-like database of FAKE data for tests, demos, benchmarks.
"""

from __future__ import annotations

import argparse
import time

from synth_pipeline.cliutil import positive_float, positive_int


def _sample(args: argparse.Namespace) -> int:
    from synth_pipeline.sampler.core import sample_pack, write_pack
    from synth_pipeline.sampler.executor import SessionSettings
    from synth_pipeline.sampler.tokens import salt_from_env

    started = time.monotonic()
    salt = salt_from_env()  # before connecting: a missing salt fails fast and writes nothing
    result = sample_pack(
        args.source_url, mapping=args.mapping, schema=args.schema, window_days=args.window_days,
        min_cell_size=args.min_cell_size, epsilon=args.epsilon, contribution_bound=args.contribution_bound,
        salt=salt, session=SessionSettings(statement_timeout_s=args.statement_timeout, work_mem_mb=args.work_mem_mb,
                                           jobs=args.jobs),
    )
    pack_path, manifest_path = write_pack(result, args.out)
    totals, privacy = result.pack.totals, result.pack.privacy
    print(f"pack: {pack_path}")
    print(f"mapping manifest: {manifest_path}")
    print(f"window: {result.pack.window.start} .. {result.pack.window.end}; messages {totals.messages}, "
          f"active conversations {totals.active_conversations}, active users {totals.active_users}")
    print(f"privacy: min cell {privacy.min_cell_size}, {privacy.merged_cells} merged and {privacy.suppressed_cells} "
          f"suppressed cells, noise {privacy.noise_mechanism}"
          + (f" (epsilon {result.manifest.privacy.epsilon_spent:g} spent)" if privacy.epsilon else ""))
    print(f"{len(result.statements)} aggregate statements in {time.monotonic() - started:.1f} s")
    return 0


def _fake_production(args: argparse.Namespace) -> int:
    from synth_pipeline.infra.dsn import redact_dsn
    from synth_pipeline.sampler.fake_production import build_fake_production

    report = build_fake_production(
        args.target_url, schema=args.schema, mapping=args.mapping, messages=args.messages, seed=args.seed,
        users=args.users, conversations=args.conversations, attachments=not args.no_attachments,
        reads=not args.no_reads, device=not args.no_device, replace=args.replace,
    )
    rows = ", ".join(f"{table} {count}" for table, count in report.rows.items())
    print(f"FAKE production-like data in {redact_dsn(args.target_url)} schema {report.schema} "
          f"(mapping {report.mapping}, seed {report.seed}): {rows}")
    print(f"messages from {report.first_message_at:%Y-%m-%d} to {report.last_message_at:%Y-%m-%d}; "
          f"{len(report.canaries)} canary strings planted; built in {report.seconds:.1f} s")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    sample = subparsers.add_parser(
        "sample", help="write a metrics pack (aggregates only) from a read-only production database",
        description="Runs aggregate SQL on the source (read-only session, statement timeout) and writes PACK.json "
        "plus PACK_mapping.json beside it. Needs ANONYMIZATION_SALT (at least 16 bytes) in the environment.",
    )
    sample.add_argument("--source-url", required=True, help="source database URL (only SELECT privilege is needed)")
    sample.add_argument("--out", required=True, help="pack file to write, e.g. pack.json")
    sample.add_argument("--window-days", type=positive_int, default=30, help="days of messages up to the latest one (default 30)")
    sample.add_argument("--mapping", default="reference", help="reference, prisma, or a mapping YAML file (default reference)")
    sample.add_argument("--schema", default="public", help="schema holding the chat tables (default public)")
    sample.add_argument("--min-cell-size", type=positive_int, default=10,
                        help="merge or suppress bins and categories describing fewer entities (default 10)")
    sample.add_argument("--epsilon", type=positive_float, default=None,
                        help="add epsilon-differentially-private geometric noise to histogram and mix counts")
    sample.add_argument("--contribution-bound", type=positive_int, default=10,
                        help="with --epsilon: at most this many rows per user and source (default 10)")
    sample.add_argument("--statement-timeout", type=positive_int, default=1800, metavar="SECONDS",
                        help="statement_timeout of the sampler's session (default 1800)")
    sample.add_argument("--jobs", type=positive_int, default=2,
                        help="concurrent read-only sessions sharing one snapshot (default 2)")
    sample.add_argument("--work-mem-mb", type=positive_int, default=128, help="work_mem of the session in MB (default 128)")
    sample.set_defaults(handler=_sample)

    fake = subparsers.add_parser(
        "fake-production", help="build a production-like chat database of FAKE data (tests, demos, benchmarks)",
        description="Fills the logical chat schema with FAKE, Faker-generated personal data and planted canary "
        "strings in a production-like shape. For tests, demos and benchmarks only - never point it at a real database.",
    )
    fake.add_argument("--target-url", required=True, help="database URL to fill")
    fake.add_argument("--messages", type=positive_int, required=True, help="number of messages (at least 1000)")
    fake.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    fake.add_argument("--mapping", default="reference", help="reference, prisma, or a mapping YAML file")
    fake.add_argument("--schema", default="public", help="schema to create the tables in (default public)")
    fake.add_argument("--users", type=positive_int, default=None, help="users (default messages/400, at least 200)")
    fake.add_argument("--conversations", type=positive_int, default=None, help="conversations (default messages/250, at least 300)")
    fake.add_argument("--no-attachments", action="store_true", help="leave out the attachments table")
    fake.add_argument("--no-reads", action="store_true", help="leave out the read receipts table")
    fake.add_argument("--no-device", action="store_true", help="leave out the device columns")
    fake.add_argument("--replace", action="store_true", help="drop this mapping's chat tables in the schema first")
    fake.set_defaults(handler=_fake_production)

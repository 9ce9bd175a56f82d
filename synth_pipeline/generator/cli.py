"""CLI of the generator stage: `synth-pipeline generate` (DESIGN.md section 5)."""

from __future__ import annotations

import argparse

from synth_pipeline.cliutil import non_negative_int, positive_int

BAND_NAMES = ("dev", "staging", "perf")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="generate deterministic synthetic shards (Parquet + manifest) from a distribution spec",
        description="Generate the six logical tables from a distribution spec into DIR: users/users.parquet, "
        "shard-NNNNN/<table>.parquet and manifest.json (written last). The same spec, seed, sizes and "
        "--shards give byte-identical files, whatever the order or the machine partitions are built on.",
    )
    parser.add_argument("--spec", metavar="SPEC.json", help="distribution spec (default: the reference spec, specs/distribution-spec.json)")
    parser.add_argument("--out", required=True, metavar="DIR", help="shard directory to write: a local path or a "
                        "shard-store URI such as s3://bucket/prefix (credentials from the AWS environment variables)")
    parser.add_argument("--seed", required=True, type=non_negative_int, metavar="N", help="seed: same seed, same bytes")
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--band", choices=BAND_NAMES, help="dev 5M, staging 100M, perf 300M messages (DESIGN.md section 6)")
    size.add_argument("--messages", type=positive_int, metavar="N", help="custom size; --users/--conversations default to the spec's ratios")
    parser.add_argument("--users", type=positive_int, metavar="N", help="with --messages: number of users")
    parser.add_argument("--conversations", type=positive_int, metavar="N", help="with --messages: number of conversations")
    parser.add_argument("--shards", type=positive_int, metavar="K", help="number of shards (default: about 1M messages per shard)")
    parser.add_argument(
        "--only", nargs="+", metavar="PARTITION",
        help="build only these partitions (users, shard-00003, ...); `manifest` writes the manifest once every "
        "partition's files exist (e.g. built on other machines)",
    )
    parser.set_defaults(handler=_generate)


def _generate(args: argparse.Namespace) -> int:
    from synth_pipeline.errors import SynthError
    from synth_pipeline.generator.plan import plan_for
    from synth_pipeline.generator.run import generate_plan
    from synth_pipeline.infra.shard_store import check_location, display
    from synth_pipeline.paths import REFERENCE_SPEC

    check_location(args.out, "--out")  # credentials, unknown schemes, malformed URIs: refused before any work
    if args.band is not None and (args.users is not None or args.conversations is not None):
        raise SynthError("--users and --conversations go with --messages, not with --band")
    plan = plan_for(args.spec or REFERENCE_SPEC, args.band, args.seed, args.shards,
                    messages=args.messages or 0, users=args.users or 0, conversations=args.conversations or 0)
    result = generate_plan(plan, args.out, only=args.only)
    messages = sum(f.rows for files in result.files.values() for f in files if f.table == "messages")
    built = f"{len(result.files)} partitions, {result.rows:,} rows ({messages:,} messages) in {result.seconds:.2f} s"
    if messages:
        built += f" ({messages / max(result.seconds, 1e-9) / 1e6:.2f}M messages/s)"
    where = (f"wrote {display(result.manifest_path)}" if result.manifest_path
             else f"wrote partitions into {display(result.out_dir)} (no manifest yet)")
    print(f"{where}: {built}; band {plan.band}, seed {plan.seed}, {plan.n_shards} shards, spec {plan.spec_sha256[:12]}")
    return 0

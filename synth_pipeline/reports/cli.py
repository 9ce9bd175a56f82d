"""CLI commands of the reports stage: `fidelity` and `baselines` (DESIGN.md section 5)."""

from __future__ import annotations

import argparse
import json
import sys

from synth_pipeline.cliutil import positive_float, positive_int, unit_interval


def run_fidelity(args: argparse.Namespace) -> int:
    from synth_pipeline.errors import EXIT_CHECK_FAILED
    from synth_pipeline.reports.fidelity import compare_packs, format_table, load_pack, load_spec

    expected = load_pack(args.expected)
    actual = load_pack(args.actual)
    spec = load_spec(args.spec) if args.spec else None
    report = compare_packs(expected, actual, threshold=args.threshold, min_metric=args.min_metric, spec=spec)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        for line in format_table(report):
            print(line)
    if not report.passed:
        worst = report.metrics[0] if report.metrics else None
        hint = f"; worst: {worst.name} {worst.score:.4f}" if worst else ""
        print(f"synth-pipeline fidelity: score {report.overall:.4f} below the threshold{hint}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    return 0


def run_baselines(args: argparse.Namespace) -> int:
    from synth_pipeline.errors import EXIT_CHECK_FAILED
    from synth_pipeline.reports.baselines import BaselineOptions, run_baselines as run

    options = BaselineOptions(
        runs=args.runs,
        regression_threshold=args.regression_threshold,
        write_rows=args.write_rows,
        keep_indexes=args.keep_indexes,
    )
    result = run(args.target_url, args.schema, mapping_name=args.mapping, out_dir=args.out, options=options,
                 env=args.env, source_url=args.source_url)
    print(result.markdown_table())
    print(f"report: {result.markdown_path}")
    print(f"results: {result.json_path}")
    if result.regressions:
        print(f"synth-pipeline baselines: {len(result.regressions)} regression(s) against run {result.previous_run_id}",
              file=sys.stderr)
        if args.fail_on_regression:
            return EXIT_CHECK_FAILED
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    fidelity = subparsers.add_parser(
        "fidelity", help="score a synthetic metrics pack against the production pack (0..1)",
        description="Compares two metrics packs metric by metric (KS, total variation, relative error, "
        "cardinality shape) and prints the overall score, the per-metric scores worst first and the spec "
        "parameter behind every low metric. Exit 1 when the score is below --threshold.",
    )
    fidelity.add_argument("--expected", required=True, metavar="PACK", help="the production metrics pack")
    fidelity.add_argument("--actual", required=True, metavar="PACK", help="the pack sampled from the synthetic schema")
    fidelity.add_argument("--json", action="store_true", help="print the report as JSON")
    fidelity.add_argument("--threshold", type=unit_interval, default=0.90, help="minimum overall score (default 0.90)")
    fidelity.add_argument("--min-metric", type=unit_interval, default=0.0,
                          help="also fail when any single metric scores below this (default 0: off)")
    fidelity.add_argument("--spec", metavar="SPEC", help="the distribution spec: low metrics then show its goodness of fit")
    fidelity.set_defaults(handler=run_fidelity)

    baselines = subparsers.add_parser(
        "baselines", help="hot-path query plans and timings before and after the recommended indexes",
        description="Runs the hot-path query catalog with EXPLAIN (ANALYZE, BUFFERS) on a loaded schema, applies "
        "the recommended indexes, runs it again, measures their write cost, and writes a markdown report and a "
        "JSON result per run (compared with the previous run in --out). Like the loader, it refuses the production "
        "source, a database that is not a provisioned perf database outside synth_* schemas, and a schema the loader "
        "did not create.",
    )
    baselines.add_argument("--target-url", required=True, metavar="URL", help="the perf database")
    baselines.add_argument("--schema", required=True, metavar="NAME", help="the loaded schema")
    baselines.add_argument("--mapping", default="reference", metavar="FILE", help="mapping name or file (default reference)")
    baselines.add_argument("--out", metavar="DIR", help="where runs are stored (default .synth/baselines/<schema>)")
    baselines.add_argument("--env", choices=("dev", "staging", "perf"),
                           help="use the provisioned roles of this environment (.secrets/.env.ENV); default: the "
                           "environment whose secrets name the target database, else the target URL for everything")
    baselines.add_argument("--source-url", default=None, metavar="URL",
                           help="production source URL to refuse (default: SYNTH_SOURCE_URL)")
    baselines.add_argument("--runs", type=positive_int, default=5, help="EXPLAIN ANALYZE runs per query (default 5)")
    baselines.add_argument("--write-rows", type=positive_int, default=20000,
                           help="rows per table in the write-amplification batch (default 20000)")
    baselines.add_argument("--regression-threshold", type=positive_float, default=0.5,
                           help="flag a query whose median time grew by more than this fraction (default 0.5)")
    baselines.add_argument("--keep-indexes", action="store_true", help="leave the recommended indexes in place")
    baselines.add_argument("--fail-on-regression", action="store_true", help="exit 1 when a regression is flagged")
    baselines.set_defaults(handler=run_baselines)

"""CLI commands of the calibration stage (registered by synth_pipeline.cli)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="fit a distribution spec to a metrics pack",
        description="Fit every spec parameter to the pack's histograms (binned maximum likelihood, AIC among "
        "candidate families, empirical quantile function when no family fits within tolerance), validate the "
        "spec against specs/distribution-spec.schema.json and write it atomically. Prints per parameter the "
        "family, key values and goodness of fit; poor fits are flagged POOR.",
    )
    parser.add_argument("pack", metavar="PACK.json", help="a metrics pack written by synth-pipeline sample")
    parser.add_argument("--out", required=True, metavar="SPEC.json", help="where to write the distribution spec")
    parser.add_argument("--previous", metavar="SPEC.json",
                        help="the spec this one replaces: spec_version becomes its version + 1 and the report shows old -> new")
    parser.set_defaults(handler=_calibrate)


def _calibrate(args: argparse.Namespace) -> int:
    from synth_pipeline.calibration.calibrate import calibrate_file
    from synth_pipeline.calibration.report import format_report

    result, previous, sha256 = calibrate_file(args.pack, args.out, previous_path=args.previous)
    print(format_report(result.spec, result.notes, previous))
    print(f"wrote {args.out} (sha256 {sha256[:12]})")
    return 0

"""CLI commands of the privacy stage (registered by synth_pipeline.cli).

- `validate-pii FILE... [--json]`: the gate on metrics packs and mapping manifests.
  Exit 0 clean, 1 findings, 2 a file is unreadable or not JSON (one stderr line per such file;
  with --json also an entry `{"file", "json_path": "$", "detector": "unreadable", "message"}`).
- `dataset-quality --target-url URL --schema NAME [--mapping FILE] [--json]`: the synthetic
  identity and vocabulary check of a loaded schema. Exit 0 clean, 1 violations.

Neither ever prints a value: findings name the file, the JSON path and the detector.
"""

from __future__ import annotations

import argparse
import json
import sys

from synth_pipeline.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE, SynthError

PROG = "synth-pipeline"
UNREADABLE = "unreadable"  # the --json entry's detector for a file that could not be judged


def register(subparsers: argparse._SubParsersAction) -> None:
    validate = subparsers.add_parser(
        "validate-pii",
        help="prove metrics packs / mapping manifests carry no personal data (0 clean, 1 findings, 2 unreadable)",
        description="Allowlist first (the JSON Schema admits only known keys, numbers, enums, 16-hex tokens and "
        "timestamps), then PII detectors on every key and value. Findings name the file, JSON path and "
        "detector, never the value.",
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help="metrics pack or *_mapping.json manifest")
    validate.add_argument(
        "--json", action="store_true", help="print the findings (and unreadable files, detector 'unreadable') as a JSON list"
    )
    validate.set_defaults(handler=_validate_pii)

    quality = subparsers.add_parser(
        "dataset-quality",
        help="count identities, names and message words outside the synthetic contract in a loaded schema",
        description="Counts, server-side, emails not of the form syn_user_<id>@synthetic.test, usernames, names "
        "and bios outside the synthetic identity patterns, conversation names other than 'Heavy Room N' / "
        "'Group N' / null, and messages with words outside the neutral word list. Exit 1 if any count is > 0.",
    )
    quality.add_argument("--target-url", help="database URL (default: SYNTH_DATABASE_URL, else the embedded server)")
    quality.add_argument("--schema", required=True, help="the loaded schema to check")
    quality.add_argument("--mapping", default="reference", help="mapping name or file (default: reference)")
    quality.add_argument("--json", action="store_true", help="print the report as JSON")
    quality.set_defaults(handler=_dataset_quality)


def _validate_pii(args: argparse.Namespace) -> int:
    from synth_pipeline.privacy.findings import Finding
    from synth_pipeline.privacy.validator import UnreadableDocument, validate_pack_file

    entries: list[Finding] = []  # in argument order: each file's findings, or its unreadable entry
    unreadable = 0
    for name in args.files:
        try:
            entries.extend(validate_pack_file(name))
        except SynthError as exc:  # one line naming the file, then carry on with the others
            unreadable += 1
            reason = exc.reason if isinstance(exc, UnreadableDocument) else str(exc)
            entries.append(Finding(name, "$", UNREADABLE, reason))
            print(f"{PROG} validate-pii: error: {exc}", file=sys.stderr)
    findings = [f for f in entries if f.detector != UNREADABLE]
    if args.json:
        # Unreadable files are entries too: stdout alone must never read as "clean".
        print(json.dumps([f.to_dict() for f in entries], indent=2))
    else:
        for finding in findings:
            print(finding.line())
        files_with_findings = len({f.file for f in findings})
        print(
            f"{len(findings)} finding(s) in {files_with_findings} file(s); "
            f"{len(args.files) - files_with_findings - unreadable} clean, {unreadable} unreadable",
            file=sys.stderr,
        )
    if unreadable:
        return EXIT_USAGE
    return EXIT_CHECK_FAILED if findings else EXIT_OK


def _dataset_quality(args: argparse.Namespace) -> int:
    from synth_pipeline.infra.embedded_pg import resolve_database_url
    from synth_pipeline.privacy.dataset_quality import dataset_quality

    report = dataset_quality(resolve_database_url(args.target_url), args.schema, args.mapping)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for line in report.lines():
            print(line)
    return EXIT_OK if report.passed else EXIT_CHECK_FAILED

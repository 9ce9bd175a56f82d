"""The `synth-pipeline` command line (DESIGN.md section 5).

Each stage registers its own subcommands from `<stage>/cli.py` (`register(subparsers)`), so this
module only builds the parser, dispatches, and turns errors into the exit-code contract:
0 success, 1 a check found a problem, 2 usage or input error. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from synth_pipeline import __version__
from synth_pipeline.errors import EXIT_USAGE, SynthError

PROG = "synth-pipeline"

# Order = order in --help. Each module exposes register(subparsers).
COMMAND_MODULES = (
    "synth_pipeline.sampler.cli",
    "synth_pipeline.privacy.cli",
    "synth_pipeline.calibration.cli",
    "synth_pipeline.generator.cli",
    "synth_pipeline.loader.cli",
    "synth_pipeline.reports.cli",
    "synth_pipeline.infra.cli",
    "synth_pipeline.demo",
)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 (the CLI contract)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description="Privacy-first synthetic chat data for PostgreSQL: sample -> validate -> calibrate -> "
        "generate -> load -> verify -> prove -> tear down.",
        epilog="Exit codes: 0 success, 1 a check found a problem, 2 usage or input error.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at INFO level")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        result = args.handler(args)
    except SynthError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line unless asked for the traceback
        if os.environ.get("SYNTH_DEBUG"):
            raise
        print(
            f"{PROG} {args.command}: internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
            "(set SYNTH_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

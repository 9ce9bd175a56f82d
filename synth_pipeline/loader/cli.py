"""CLI commands of the loader stage (registered by synth_pipeline.cli)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands. None yet."""

"""`synth-pipeline demo`: the whole pipeline on the embedded PostgreSQL server, dev band.

It runs every stage that exists, in order, and prints where each artifact is. Stages are added
here as they land; see the README for the current story.
"""

from __future__ import annotations

import argparse
import time

import psycopg
from psycopg import sql

from synth_pipeline.infra import embedded_pg
from synth_pipeline.infra.dsn import redact_dsn, with_database
from synth_pipeline.paths import state_dir
from synth_pipeline.schema import load_mapping
from synth_pipeline.schema.ddl import create_logical_schema

DEMO_DATABASE = "synth_demo"


def ensure_database(admin_dsn: str, name: str, *, recreate: bool = False) -> str:
    """Create database `name` on the server of `admin_dsn` (dropping it first if asked)."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and recreate:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = None
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(admin_dsn, name)


def run_demo(args: argparse.Namespace) -> int:
    started = time.monotonic()
    admin_dsn = embedded_pg.resolve_database_url()
    print(f"[demo] PostgreSQL: {redact_dsn(admin_dsn)}")
    demo_dsn = ensure_database(admin_dsn, DEMO_DATABASE, recreate=True)
    with psycopg.connect(demo_dsn) as conn:
        for mapping_name in ("reference", "prisma"):
            create_logical_schema(conn, f"demo_{mapping_name}", load_mapping(mapping_name))
            print(f"[demo] logical schema created under the {mapping_name} mapping in schema demo_{mapping_name}")
    print(f"[demo] artifacts: {state_dir()}")
    print(f"[demo] done in {time.monotonic() - started:.1f} s")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the whole pipeline on the embedded PostgreSQL server (dev band)",
        description="Runs every stage end to end on the embedded PostgreSQL server and prints a summary.",
    )
    parser.set_defaults(handler=run_demo)

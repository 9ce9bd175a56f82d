"""`synth-pipeline db start|stop|url`: manage the embedded PostgreSQL server."""

from __future__ import annotations

import argparse

from synth_pipeline.infra import embedded_pg


def _db(args: argparse.Namespace) -> int:
    if args.action == "start":
        server = embedded_pg.ensure_server()
        print(f"embedded PostgreSQL running in {server.pgdata}")
        print(server.dsn)
    elif args.action == "url":
        print(embedded_pg.resolve_database_url(database=args.database))
    elif args.action == "stop":
        stopped = embedded_pg.stop_server()
        print("stopped" if stopped else "not running")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "db", help="start, stop or print the URL of the embedded PostgreSQL server (.synth/pg)",
        description="The embedded PostgreSQL server used when no database URL is given. "
        "SYNTH_DATABASE_URL overrides it for `url`.",
    )
    parser.add_argument("action", choices=("start", "stop", "url"))
    parser.add_argument("--database", default=None, help="database name for `url`")
    parser.set_defaults(handler=_db)
